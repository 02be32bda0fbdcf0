//! The GeoIP table (`edgedns::geo::ipdb`) end to end: small CSV fixtures through the public
//! API and through `edgedns geoip build / lookup`, and the real ip-location-db lists from
//! node_modules (installed by `npm ci`, which `make test` runs first).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use edgedns::geo::ipdb::{self, IpTable, IpValue, Kind, Located};
use ipnet::IpNet;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ipdb").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pipeline `edgedns geoip build` runs: parse, cut special-purpose space, build.
fn build_table(kind: Kind, files: &[PathBuf]) -> (Vec<u8>, ipdb::BuildStats, usize) {
    let mut ranges = Vec::new();
    for file in files {
        ranges.extend(ipdb::parse_csv(&read(file), kind).unwrap_or_else(|e| panic!("{}: {e}", file.display())));
    }
    let (ranges, cut) = ipdb::without_special_purpose(ranges);
    let (image, stats) = ipdb::build_with_stats(ranges).unwrap();
    (image, stats, cut)
}

fn show(table: &IpTable, query: &str) -> String {
    let network: IpNet = match query.parse::<IpAddr>() {
        Ok(address) => address.into(),
        Err(_) => query.parse().unwrap(),
    };
    let Located { value, network } = table.locate(network);
    match value {
        Some(value) => format!("{value} {network}"),
        None => format!("none {network}"),
    }
}

const COUNTRY_EXPECTATIONS: &[(&str, &str)] = &[
    ("0.255.255.255", "none 0.0.0.0/8"),
    ("1.0.0.0", "AU 1.0.0.0/24"),
    ("1.0.2.7", "CN 1.0.2.0/23"),
    ("1.0.7.255", "AU 1.0.4.0/22"),
    ("1.0.9.1", "CN 1.0.8.0/21"),
    ("1.0.16.0", "none 1.0.16.0/20"),
    ("2.58.196.77", "DE 2.58.196.0/24"),
    ("2.58.197.15", "BE 2.58.197.15/32"),
    ("2.58.197.200", "DE 2.58.197.128/25"),
    ("8.8.8.8", "US 8.8.8.0/24"),
    ("8.8.5.1", "none 8.8.5.0/24"),
    ("192.168.1.1", "none 128.0.0.0/1"),
    ("::ffff:8.8.8.8", "US ::ffff:8.8.8.0/120"),
    ("2001:4860:4860::8888", "US 2001:4860::/32"),
    ("2001:218:2000:51::1", "JP 2001:218:2000:50::/63"),
    ("2c0f:e9a0:2::2a:1", "FR 2c0f:e9a0:2::2a:0/112"),
    ("fd12::1", "none 8000::/1"),
    // Client subnets: inside one range, the largest block (never wider than asked)...
    ("1.0.2.0/24", "CN 1.0.2.0/23"),
    ("8.8.8.0/25", "US 8.8.8.0/24"),
    // ... across ranges, the first address's value and the subnet itself.
    ("1.0.0.0/22", "AU 1.0.0.0/22"),
    ("8.8.0.0/16", "none 8.8.0.0/16"),
];

const ASN_EXPECTATIONS: &[(&str, &str)] = &[
    ("1.0.0.1", "AS13335 1.0.0.0/24"),
    ("1.0.5.5", "AS38803 1.0.4.0/22"),
    ("8.8.8.8", "AS15169 8.8.8.0/24"),
    ("9.9.9.9", "none 9.0.0.0/8"),
    ("2606:4700:4700::1111", "AS13335 2606:4700::/32"),
    ("2001:4:112::53", "AS112 2001:4:112::/48"),
];

#[test]
fn fixtures_through_the_api() {
    let (image, stats, cut) = build_table(Kind::Country, &[fixture("country-ipv4.csv"), fixture("country-ipv6.csv")]);
    assert_eq!(cut, 2, "192.168.0.0/16 and fd00::/8 dropped");
    assert_eq!(stats.ranges, (9, 3), "10 + 4 rows less the two dropped");
    assert_eq!(stats.overlapping, (2, 0), "BE inside DE, and the DE rest");
    assert_eq!(stats.bytes, image.len());
    let table = IpTable::decode(image).unwrap();
    assert_eq!(table.kind(), Kind::Country);
    for (query, expected) in COUNTRY_EXPECTATIONS {
        assert_eq!(show(&table, query), *expected, "{query}");
    }
    let found = table.lookup("1.0.2.7".parse().unwrap()).unwrap();
    assert_eq!(found.value, IpValue::Country(*b"CN"));
    assert_eq!(found.value.country_code(), Some("CN"));
    assert_eq!(found.network, "1.0.2.0/23".parse::<IpNet>().unwrap());
    assert_eq!(table.lookup("192.168.1.1".parse().unwrap()), None);
    assert_eq!(table.lookup_network("8.8.0.0/16".parse().unwrap()), None, "starts in a gap");

    let (image, _, _) = build_table(Kind::Asn, &[fixture("asn-ipv4.csv"), fixture("asn-ipv6.csv")]);
    let table = IpTable::decode(image).unwrap();
    assert_eq!(table.kind(), Kind::Asn);
    for (query, expected) in ASN_EXPECTATIONS {
        assert_eq!(show(&table, query), *expected, "{query}");
    }
    assert_eq!(table.lookup("8.8.8.8".parse().unwrap()).unwrap().value.asn(), Some(15169));
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgedns")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("run edgedns")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "edgedns failed: {}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("edgedns-ipdb-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn fixtures_through_the_cli() {
    let dir = TempDir::new("cli");
    let (country, asn) = (dir.path("country.bin"), dir.path("asn.bin"));
    let f = |name: &str| fixture(name).display().to_string();
    let output = run(&[
        "geoip",
        "build",
        "--country-v4",
        &f("country-ipv4.csv"),
        "--country-v6",
        &f("country-ipv6.csv"),
        "--asn-v4",
        &f("asn-ipv4.csv"),
        "--asn-v6",
        &f("asn-ipv6.csv"),
        "-o",
        &country,
        "--asn-output",
        &asn,
    ]);
    let text = stdout(&output);
    assert!(text.contains("country: 10 ranges from"), "{text}");
    assert!(text.contains("country: 4 ranges from"), "{text}");
    assert!(text.contains("asn: 3 ranges from"), "{text}");
    assert!(text.contains(&format!("wrote {country}")), "{text}");
    assert!(text.contains(&format!("wrote {asn}")), "{text}");

    // The CLI writes exactly what the API builds (the image is canonical).
    let (expected, _, _) = build_table(Kind::Country, &[fixture("country-ipv4.csv"), fixture("country-ipv6.csv")]);
    assert_eq!(std::fs::read(&country).unwrap(), expected);

    for (query, expected) in COUNTRY_EXPECTATIONS {
        assert_eq!(stdout(&run(&["geoip", "lookup", &country, query])).trim(), *expected, "{query}");
    }
    for (query, expected) in ASN_EXPECTATIONS {
        assert_eq!(stdout(&run(&["geoip", "lookup", &asn, query])).trim(), *expected, "{query}");
    }

    // Errors name the file and line, and nothing is written.
    let bad = f("bad-country.csv");
    let out = dir.path("bad.bin");
    let output = run(&["geoip", "build", "--country-v4", &bad, "--country-v6", &bad, "-o", &out]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("{bad}:3: bad end address \"1.0.7.256\"")), "{stderr}");
    assert!(!Path::new(&out).exists());
    let output = run(&["geoip", "lookup", &bad, "1.1.1.1"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a GeoIP image"));
    let output = run(&["geoip", "lookup", &country, "1.2.3.4/33"]);
    assert!(!output.status.success());
}

/// The pinned npm lists (package.json devDependencies), as the Worker will get them. This
/// test fails, on purpose, when they are missing: run `npm ci` (`make test` does).
#[test]
fn real_lists_from_node_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/@ip-location-db");
    let country_dir = root.join("geo-whois-asn-country");
    let asn_dir = root.join("asn");
    let country_files = [country_dir.join("geo-whois-asn-country-ipv4.csv"), country_dir.join("geo-whois-asn-country-ipv6.csv")];
    let asn_files = [asn_dir.join("asn-ipv4.csv"), asn_dir.join("asn-ipv6.csv")];
    for file in country_files.iter().chain(&asn_files) {
        assert!(
            file.is_file(),
            "{} is missing: the GeoIP lists come from the npm devDependencies \
             @ip-location-db/geo-whois-asn-country and @ip-location-db/asn; run `npm ci` first",
            file.display()
        );
    }

    let (image, stats, _) = build_table(Kind::Country, &country_files);
    assert!(stats.ranges.0 > 100_000 && stats.ranges.1 > 50_000, "{stats:?}");
    assert!(image.len() < ipdb::KV_VALUE_LIMIT, "country table is {} bytes, over the KV limit", image.len());
    let country = IpTable::decode(image).unwrap();
    for address in ["1.1.1.1", "8.8.8.8", "9.9.9.9", "2001:4860:4860::8888", "2606:4700:4700::1111"] {
        let found = country.lookup(address.parse().unwrap());
        let found = found.unwrap_or_else(|| panic!("{address} has no country"));
        assert!(found.value.country_code().is_some_and(|code| code.len() == 2), "{address}: {found:?}");
        assert!(found.network.contains(&address.parse::<IpAddr>().unwrap()));
    }
    let mapped = country.lookup("::ffff:8.8.8.8".parse().unwrap()).unwrap();
    assert_eq!(mapped.value, country.lookup("8.8.8.8".parse().unwrap()).unwrap().value);
    for private in ["10.1.2.3", "172.16.5.4", "192.168.1.1", "127.0.0.1", "fd00::1", "fe80::1", "2001:db8::1"] {
        assert_eq!(country.lookup(private.parse().unwrap()), None, "{private} must have no country");
    }

    let (image, _, _) = build_table(Kind::Asn, &asn_files);
    assert!(image.len() < ipdb::KV_VALUE_LIMIT, "ASN table is {} bytes, over the KV limit", image.len());
    let asn = IpTable::decode(image).unwrap();
    let asn_of = |address: &str| asn.lookup(address.parse().unwrap()).and_then(|found| found.value.asn());
    assert_eq!(asn_of("1.1.1.1"), Some(13335));
    assert_eq!(asn_of("8.8.8.8"), Some(15169));
    assert_eq!(asn_of("2001:4860:4860::8888"), Some(15169));
    assert_eq!(asn_of("192.168.1.1"), None);
}
