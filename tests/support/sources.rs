//! What tests that compile the repository's zones share: every zone, routes and view file of
//! `zones/`, `tests/zones/` and the test view `tests/zones/views/corp/`, read as sources.

use edgedns::zone::compile::SourceFile;

/// The sources of zones/, tests/zones/ and tests/zones/views/corp/.
pub fn repository_sources() -> Vec<SourceFile> {
    let mut sources = Vec::new();
    for dir in ["zones", "tests/zones", "tests/zones/views/corp"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                sources.push(SourceFile { path: path.display().to_string(), text: std::fs::read_to_string(&path).unwrap() });
            }
        }
    }
    sources
}
