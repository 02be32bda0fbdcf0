//! The KV value of published lists when there is more than one native list: a header line,
//! then each list as `<format> <bytes> <name>` on a line, its text (that many bytes) and a
//! line end. Text, so a value reads in `wrangler kv key get`; lengths, so a list's text is
//! taken as it is, whatever lines it holds.
//!
//! ```text
//! edgedns-firewall-lists 1
//! adblock 34 ads.txt
//! ||ads.example^
//! @@||ok.ads.example^
//! hosts 22 hosts
//! 0.0.0.0 bad.example
//! ```

use super::Format;

/// The first line of a bundle.
pub const HEADER: &str = "edgedns-firewall-lists 1\n";

/// One list of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List<'a> {
    /// Its name (explain and the log name it).
    pub name: Option<&'a str>,
    /// Its format.
    pub format: Format,
    /// Its text.
    pub text: &'a str,
}

/// A bundle of `lists` (a name must hold no line end: it is replaced by a space).
pub fn encode(lists: &[List<'_>]) -> String {
    let mut out = String::from(HEADER);
    for list in lists {
        let name = list.name.unwrap_or("").replace(['\n', '\r'], " ");
        out.push_str(&format!("{} {} {}\n", list.format.name(), list.text.len(), name));
        out.push_str(list.text);
        out.push('\n');
    }
    out
}

/// The lists of a bundle; `None` when `text` is no bundle (a native list as written), an
/// error when it starts like one and does not read.
pub fn decode(text: &str) -> Option<Result<Vec<List<'_>>, String>> {
    let mut rest = text.strip_prefix(HEADER)?;
    let mut lists = Vec::new();
    Some(loop {
        if rest.is_empty() {
            break Ok(lists);
        }
        let Some((line, after)) = rest.split_once('\n') else { break Err("a list header with no line end".into()) };
        let mut fields = line.splitn(3, ' ');
        let (Some(format), Some(length), name) = (fields.next(), fields.next(), fields.next()) else {
            break Err(format!("{line:?} is no list header"));
        };
        let Some(format) = Format::from_name(format) else { break Err(format!("unknown list format {format:?}")) };
        let Ok(length) = length.parse::<usize>() else { break Err(format!("{length:?} is no length")) };
        let (Some(body), Some(next)) = (after.get(..length), after.get(length..)) else {
            break Err(format!("a list of {length} bytes in {} (cut short, or not on a character boundary)", after.len()));
        };
        let Some(next) = next.strip_prefix('\n') else { break Err("a list's text is not followed by a line end".into()) };
        lists.push(List { name: name.filter(|name| !name.is_empty()), format, text: body });
        rest = next;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_read_back_and_bad_ones_are_errors() {
        let lists = [
            List { name: Some("ads list.txt"), format: Format::Adblock, text: "||ads.example^\r\n@@||ok.ads.example^" },
            List { name: Some("hosts"), format: Format::Hosts, text: "0.0.0.0 bad.example\n" },
            List { name: None, format: Format::Native, text: "" },
        ];
        let encoded = encode(&lists);
        assert_eq!(decode(&encoded), Some(Ok(lists.to_vec())));
        assert_eq!(decode("block a.example nxdomain\n"), None, "a native list as written");
        for bad in ["adblock 99 x\nshort\n", "adblock x\n", "nope 1 x\na\n", "adblock 1 x\nab\n", "hosts 1 x\né\n"] {
            assert!(matches!(decode(&format!("{HEADER}{bad}")), Some(Err(_))), "{bad:?}");
        }
    }
}
