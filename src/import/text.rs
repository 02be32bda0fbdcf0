//! Text conversions between Route 53's presentation and this project's files: names with
//! Route 53's octal escapes (`\052` is `*`), record values in master-file syntax, TOML strings.

use hickory_proto::rr::{Name, RecordType};

/// Reads a Route 53 name: labels separated by dots, `\ooo` octal escapes (Route 53 writes
/// every character other than `a-z0-9-_` that way), `\X` for a literal X. Always absolute
/// (Route 53 names are, with or without the final dot); lower-cased.
pub(crate) fn route53_name(text: &str) -> Result<Name, String> {
    let mut labels: Vec<Vec<u8>> = Vec::new();
    let mut label: Vec<u8> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    if text.is_empty() {
        return Err("empty name".to_owned());
    }
    if text == "." {
        return Ok(Name::root());
    }
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\\' => {
                let digits = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
                if let Some(digits) = digits {
                    let value = digits.iter().fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                    let value = u8::try_from(value).map_err(|_| format!("bad escape in {text:?}"))?;
                    label.push(value);
                    i += 4;
                } else if let Some(&next) = bytes.get(i + 1) {
                    label.push(next);
                    i += 2;
                } else {
                    return Err(format!("dangling backslash in {text:?}"));
                }
            }
            b'.' => {
                if label.is_empty() {
                    return Err(format!("empty label in {text:?}"));
                }
                labels.push(std::mem::take(&mut label));
                i += 1;
            }
            _ => {
                label.push(byte.to_ascii_lowercase());
                i += 1;
            }
        }
    }
    if !label.is_empty() {
        labels.push(label);
    }
    let lowered: Vec<Vec<u8>> = labels.into_iter().map(|l| l.to_ascii_lowercase()).collect();
    Name::from_labels(lowered).map_err(|e| format!("bad name {text:?}: {e}"))
}

/// One label in master-file syntax: `\DDD` decimal escapes for unprintable bytes, `\X` for
/// special characters (hickory's own `to_ascii` writes octal, which master files do not read).
fn escape_label(label: &[u8]) -> String {
    if label == b"*" {
        return "*".to_owned();
    }
    let mut out = String::with_capacity(label.len());
    for &byte in label {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => out.push(char::from(byte)),
            0x21..=0x7e => {
                out.push('\\');
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("\\{byte:03}")),
        }
    }
    out
}

/// `name` as written inside the zone `zone`: `@` for the apex, else relative labels; an
/// absolute name (with the final dot) when it is outside the zone.
pub(crate) fn relative(name: &Name, zone: &Name) -> String {
    let labels: Vec<String> = name.iter().map(escape_label).collect();
    if !zone.zone_of(name) {
        return format!("{}.", labels.join("."));
    }
    // Counted by iterating: `num_labels` leaves a leading `*` out.
    let keep = name.iter().count().saturating_sub(zone.iter().count());
    if keep == 0 {
        return "@".to_owned();
    }
    labels.into_iter().take(keep).collect::<Vec<_>>().join(".")
}

/// Whether the routes-file reader reads `name` back from what [`relative`] writes (it runs
/// labels through IDNA, so some characters a master file takes are refused there).
pub(crate) fn routes_readable(name: &Name, zone: &Name) -> bool {
    let text = relative(name, zone);
    let parsed = if text == "@" { Ok(zone.clone()) } else { Name::parse(&text, Some(zone)) };
    parsed.is_ok_and(|parsed| parsed == *name)
}

/// An absolute name in master-file syntax.
pub(crate) fn absolute(name: &Name) -> String {
    if name.is_root() {
        return ".".to_owned();
    }
    let labels: Vec<String> = name.iter().map(escape_label).collect();
    format!("{}.", labels.join("."))
}

/// Route 53's `\ooo` octal escapes as master-file `\DDD` decimal escapes; other text as is.
pub(crate) fn octal_to_decimal(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    let mut start = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte != b'\\' {
            i += 1;
            continue;
        }
        let digits = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match digits {
            Some(digits) => {
                let code = digits.iter().fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if code <= 255 {
                    out.push_str(value.get(start..i).unwrap_or_default());
                    out.push_str(&format!("\\{code:03}"));
                    i += 4;
                    start = i;
                } else {
                    i += 4;
                }
            }
            // Keep `\X` together, so `\\052` stays a backslash followed by "052".
            None => i += 2,
        }
    }
    out.push_str(value.get(start..).unwrap_or_default());
    out
}

/// Splits a value into fields at blanks outside `"…"` (escapes inside quotes respected).
pub(crate) fn fields(value: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                current.push(c);
                quoted = !quoted;
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    fields.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        fields.push(current);
    }
    fields
}

/// Which fields of a value are domain names, per type.
fn name_fields(record_type: RecordType) -> &'static [usize] {
    match record_type {
        RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::ANAME => &[0],
        RecordType::MX => &[1],
        RecordType::SRV => &[3],
        RecordType::SOA => &[0, 1],
        RecordType::NAPTR => &[5],
        RecordType::SVCB | RecordType::HTTPS => &[1],
        _ => &[],
    }
}

/// A Route 53 value in master-file syntax for the type: octal escapes converted, and domain
/// names made absolute (Route 53 reads `mail.example.com` as fully qualified; a master file
/// or a routes file would read it relative to the zone).
pub(crate) fn master_value(record_type: RecordType, value: &str) -> String {
    let value = octal_to_decimal(value.trim());
    let positions = name_fields(record_type);
    if positions.is_empty() {
        return value;
    }
    let mut parts = fields(&value);
    for &position in positions {
        if let Some(field) = parts.get_mut(position) {
            if field != "." && field != "@" && !field.ends_with('.') {
                field.push('.');
            }
        }
    }
    parts.join(" ")
}

/// A DS value (`keytag algorithm digest-type hex`) in the generic form `\# len hex` (RFC
/// 3597), which the master-file reader takes for any type.
pub(crate) fn generic_ds(value: &str) -> Option<String> {
    let parts = fields(value);
    let [tag, algorithm, digest_type, digest @ ..] = parts.as_slice() else { return None };
    let tag: u16 = tag.parse().ok()?;
    let algorithm: u8 = algorithm.parse().ok()?;
    let digest_type: u8 = digest_type.parse().ok()?;
    let hex: String = digest.concat();
    if hex.is_empty() || !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let length = 4 + hex.len() / 2;
    Some(format!("\\# {length} {tag:04x}{algorithm:02x}{digest_type:02x}{}", hex.to_ascii_lowercase()))
}

/// A TOML basic string.
pub(crate) fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, else quoted.
pub(crate) fn toml_key(key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

/// A float as TOML writes it (always with a fraction or exponent, never NaN).
pub(crate) fn toml_float(value: f64) -> String {
    let text = format!("{value:?}");
    if text.contains(['.', 'e', 'E']) {
        text
    } else {
        format!("{text}.0")
    }
}

/// Text in a `#`/`;` comment: one line, no control characters.
pub(crate) fn comment(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn reads_route53_names() {
        let name = route53_name("\\052.CDN.example.net.").unwrap();
        assert_eq!(name, Name::from_str("*.cdn.example.net.").unwrap());
        assert!(name.is_wildcard());
        assert_eq!(route53_name("www.example.net").unwrap(), Name::from_str("www.example.net.").unwrap());
        assert!(route53_name("a..b").is_err());
        assert!(route53_name("a\\").is_err());
        assert!(route53_name("\\777.x").is_err());
        assert!(route53_name("").is_err());
    }

    #[test]
    fn writes_relative_names() {
        let zone = Name::from_str("example.net.").unwrap();
        assert_eq!(relative(&Name::from_str("example.net.").unwrap(), &zone), "@");
        assert_eq!(relative(&Name::from_str("*.cdn.example.net.").unwrap(), &zone), "*.cdn");
        assert_eq!(relative(&Name::from_str("www.example.org.").unwrap(), &zone), "www.example.org.");
        let odd = route53_name("a\\040b.example.net.").unwrap();
        assert_eq!(relative(&odd, &zone), "a\\032b");
    }

    #[test]
    fn converts_values() {
        assert_eq!(octal_to_decimal("\"caf\\351\""), "\"caf\\233\"");
        assert_eq!(octal_to_decimal("\"a\\\"b\""), "\"a\\\"b\"");
        assert_eq!(master_value(RecordType::MX, "10 mail.example.net"), "10 mail.example.net.");
        assert_eq!(master_value(RecordType::CNAME, "www.example.net."), "www.example.net.");
        assert_eq!(master_value(RecordType::SRV, "1 2 443  host"), "1 2 443 host.");
        assert_eq!(master_value(RecordType::TXT, "\"a  b\" \"c\""), "\"a  b\" \"c\"");
        assert_eq!(fields("\"a b\" c"), vec!["\"a b\"", "c"]);
        assert_eq!(generic_ds("60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118").unwrap(), "\\# 24 ec4505012bb183af5f22588179a53b0a98631fad1a292118");
        assert!(generic_ds("1 2 3 xyz").is_none());
    }

    #[test]
    fn writes_toml() {
        assert_eq!(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(toml_key("abc-1_2"), "abc-1_2");
        assert_eq!(toml_key("a.b"), "\"a.b\"");
        assert_eq!(toml_float(-122.0), "-122.0");
        assert_eq!(toml_float(47.61), "47.61");
    }
}
