//! The Workers Analytics Engine data point written for a sampled answered query.
//!
//! Layout (the SQL in [`super::sql`] reads these columns; README "Operator console"):
//!
//! | column  | holds                                                                |
//! |---------|----------------------------------------------------------------------|
//! | index1  | the zone apex (`(none)` when no hosted zone holds the name): the     |
//! |         | dataset's sampling key, so each zone is sampled on its own           |
//! | blob1   | the zone apex, `""` when none                                        |
//! | blob2   | the question name, lower case                                        |
//! | blob3   | the question type (`A`, `AAAA`...)                                   |
//! | blob4   | the RCODE (`NOERROR`, `NXDOMAIN`...)                                 |
//! | blob5   | the policy leaf's label, `""` when no routed set decided             |
//! | blob6   | the client's country (ISO 3166-1 alpha-2), `""` when unknown         |
//! | blob7   | the edge location (IATA code), `""` when unknown                     |
//! | blob8   | resolver mode: how it was answered (`isolate`, `edge`, `coalesced`,  |
//! |         | `miss`, `stale`, `failed`); `""` when not forwarded                  |
//! | blob9   | the resolver profile, `""` when none                                 |
//! | double1 | the queries it stands for: 1 / `ANALYTICS_SAMPLE_RATE`               |
//! | double2 | 1 when the firewall blocked it, else 0                               |
//! | double3 | 1 when a cache answered it (isolate or edge), else 0                 |
//! | double4 | 1 when it was forwarded, else 0                                      |
//!
//! Analytics Engine samples on its own too, recording how many points a stored one stands
//! for as `_sample_interval`; a count is therefore `SUM(_sample_interval * double1)`.

use std::borrow::Cow;

use super::{rcode_name, Answered, Sampling};

/// How many blobs a point carries.
pub const BLOBS: usize = 9;
/// How many doubles a point carries.
pub const DOUBLES: usize = 4;
/// The longest index Analytics Engine takes, in bytes.
pub const MAX_INDEX_BYTES: usize = 96;
/// The longest blob written, in bytes (a DNS name's text is at most 253; longer input is cut).
pub const MAX_BLOB_BYTES: usize = 256;
/// The index of a query no hosted zone holds.
pub const NO_ZONE: &str = "(none)";

/// One data point, borrowed from the facts where it can be.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPoint<'a> {
    /// `index1`.
    pub index: &'a str,
    /// `blob1`..`blob9`.
    pub blobs: [Cow<'a, str>; BLOBS],
    /// `double1`..`double4`.
    pub doubles: [f64; DOUBLES],
}

/// The data point for a sampled answered query.
pub fn data_point<'a>(answered: &Answered<'a>, sampling: &Sampling) -> DataPoint<'a> {
    let flag = |on: bool| if on { 1.0 } else { 0.0 };
    let text = |value: Option<&'a str>| Cow::Borrowed(cut(value.unwrap_or(""), MAX_BLOB_BYTES));
    DataPoint {
        index: cut(answered.zone.unwrap_or(NO_ZONE), MAX_INDEX_BYTES),
        blobs: [
            text(answered.zone),
            text(Some(answered.name)),
            text(Some(answered.record_type)),
            rcode_name(answered.rcode),
            text(answered.policy),
            text(answered.country),
            text(answered.colo),
            Cow::Borrowed(answered.cache.map_or("", |cache| cache.word())),
            text(answered.profile),
        ],
        doubles: [sampling.weight(), flag(answered.blocked), flag(answered.cache.is_some_and(|cache| cache.is_hit())), flag(answered.cache.is_some())],
    }
}

/// `text` cut to at most `limit` bytes, at a character boundary.
fn cut(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::CacheOutcome;

    #[test]
    fn a_routed_answer_fills_the_documented_columns() {
        let answered = Answered {
            zone: Some("example.com."),
            name: "geo.example.com.",
            record_type: "A",
            rcode: 0,
            policy: Some("europe"),
            country: Some("DE"),
            colo: Some("FRA"),
            cache: None,
            blocked: false,
            profile: None,
        };
        let point = data_point(&answered, &Sampling::new(0.5).unwrap());
        assert_eq!(point.index, "example.com.");
        let blobs: Vec<&str> = point.blobs.iter().map(|blob| blob.as_ref()).collect();
        assert_eq!(blobs, ["example.com.", "geo.example.com.", "A", "NOERROR", "europe", "DE", "FRA", "", ""]);
        assert_eq!(point.doubles, [2.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn a_blocked_forwarded_query_has_no_zone_and_says_how_it_was_answered() {
        let answered = Answered {
            name: "ads.tracker.example.",
            record_type: "AAAA",
            rcode: 3,
            cache: Some(CacheOutcome::Isolate),
            blocked: true,
            profile: Some("kids"),
            ..Answered::default()
        };
        let point = data_point(&answered, &Sampling::new(1.0).unwrap());
        assert_eq!(point.index, NO_ZONE);
        assert_eq!(point.blobs[0], "");
        assert_eq!(point.blobs[3], "NXDOMAIN");
        assert_eq!(point.blobs[7], "isolate");
        assert_eq!(point.blobs[8], "kids");
        assert_eq!(point.doubles, [1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let zone = "é".repeat(60); // 120 bytes
        let name = "a".repeat(400);
        let answered = Answered { zone: Some(&zone), name: &name, ..Answered::default() };
        let point = data_point(&answered, &Sampling::new(1.0).unwrap());
        assert_eq!(point.index.len(), MAX_INDEX_BYTES);
        assert_eq!(point.blobs[1].len(), MAX_BLOB_BYTES);
        let odd = "aé".repeat(60);
        let answered = Answered { zone: Some(&odd), ..Answered::default() };
        assert_eq!(data_point(&answered, &Sampling::OFF).index.len(), 96);
        assert!(cut("abcé", 4) == "abc");
    }
}
