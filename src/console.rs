//! The operator console at `/console`: a page, its style sheet and its script, shipped in the
//! bundle (no build step, nothing from another origin). The page holds no data of its own:
//! every view is drawn from ordinary admin API calls (`/admin/...`, `/explain`) that the
//! script makes with the token the operator typed, kept in the tab's `sessionStorage`, so
//! anything it shows can be had with curl too.
//!
//! Served under a strict Content-Security-Policy: scripts and styles from this origin only
//! (no inline script or style), connections to this origin only, no frames, no forms posted
//! elsewhere.

use crate::doh::HttpResponse;

/// The console's path; its files are under `/console/`.
pub const CONSOLE_PATH: &str = "/console";

/// The policy every console response carries (CSP Level 3): nothing but this origin's own
/// script, style sheet and admin API; inline SVG is markup, drawn by the script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = include_str!("console/index.html");
const STYLE: &str = include_str!("console/console.css");
const SCRIPT: &str = include_str!("console/app.js");

/// Whether `path` is the console's (the Worker routes it here before anything else).
pub fn is_console(path: &str) -> bool {
    path == CONSOLE_PATH || path.strip_prefix(CONSOLE_PATH).is_some_and(|rest| rest.starts_with('/'))
}

/// The response to `method` on a console `path`: the page (`/console`, `/console/`), the
/// style sheet, the script; 404 for anything else under `/console/`, 405 for a method
/// other than GET or HEAD (the runtime drops a HEAD response's body).
pub fn serve(method: &str, path: &str) -> HttpResponse {
    let file = match path {
        "/console" | "/console/" | "/console/index.html" => Some(("text/html; charset=utf-8", PAGE)),
        "/console/console.css" => Some(("text/css; charset=utf-8", STYLE)),
        "/console/app.js" => Some(("text/javascript; charset=utf-8", SCRIPT)),
        _ => None,
    };
    let mut response = match (method, file) {
        ("GET" | "HEAD", Some((content_type, text))) => {
            let mut response = HttpResponse::new(200, content_type, text.as_bytes().to_vec());
            // Shipped with the Worker: a new deployment must not meet an old cached script.
            response.headers.push(("cache-control", "no-cache".into()));
            response
        }
        ("GET" | "HEAD", None) => HttpResponse::new(404, "text/plain; charset=utf-8", b"no such console file\n".to_vec()),
        _ => {
            let mut response = HttpResponse::new(405, "text/plain; charset=utf-8", b"method not allowed\n".to_vec());
            response.headers.push(("allow", "GET, HEAD".into()));
            response
        }
    };
    // Same origin only: the console's files are not for other pages to read.
    response.headers.retain(|(name, _)| *name != "access-control-allow-origin");
    response.headers.push(("content-security-policy", CONTENT_SECURITY_POLICY.into()));
    response.headers.push(("x-content-type-options", "nosniff".into()));
    response.headers.push(("referrer-policy", "no-referrer".into()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
        response.headers.iter().find(|(n, _)| *n == name).map(|(_, value)| &**value)
    }

    #[test]
    fn routes_only_the_console_paths() {
        for path in ["/console", "/console/", "/console/app.js"] {
            assert!(is_console(path), "{path}");
        }
        for path in ["/consoles", "/", "/admin/console", "/console.js"] {
            assert!(!is_console(path), "{path}");
        }
    }

    #[test]
    fn serves_the_page_style_and_script_under_a_strict_policy() {
        for (path, content_type, holds) in [
            ("/console", "text/html; charset=utf-8", "<script src=\"/console/app.js\""),
            ("/console/console.css", "text/css; charset=utf-8", "@media"),
            ("/console/app.js", "text/javascript; charset=utf-8", "sessionStorage"),
        ] {
            let response = serve("GET", path);
            assert_eq!(response.status, 200, "{path}");
            assert_eq!(header(&response, "content-type"), Some(content_type));
            assert!(String::from_utf8_lossy(&response.body).contains(holds), "{path} holds {holds}");
            let policy = header(&response, "content-security-policy").unwrap();
            assert!(policy.contains("script-src 'self';") && policy.contains("connect-src 'self';") && !policy.contains("unsafe"), "{policy}");
            assert_eq!(header(&response, "access-control-allow-origin"), None);
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style_and_loads_nothing_from_elsewhere() {
        let page = PAGE.to_ascii_lowercase();
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains("<script src=\"/console/app.js\" defer></script>"));
        for forbidden in ["<style", " style=", " onclick=", " onload=", "http://", "https://", "javascript:"] {
            assert!(!page.contains(forbidden), "the page holds {forbidden:?}");
        }
        for source in [SCRIPT, STYLE] {
            // The SVG namespace (the Traffic view's chart) is a name, never fetched.
            let source = source.replace("\"http://www.w3.org/2000/svg\"", "");
            assert!(!source.contains("http://") && !source.contains("https://"), "the console loads nothing from another origin");
        }
    }

    #[test]
    fn anything_else_is_404_or_405() {
        assert_eq!(serve("GET", "/console/secret").status, 404);
        let post = serve("POST", "/console");
        assert_eq!((post.status, header(&post, "allow")), (405, Some("GET, HEAD")));
        assert!(header(&post, "content-security-policy").is_some());
    }
}
