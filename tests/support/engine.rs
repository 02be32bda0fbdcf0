//! What import tests share: asking the engine a question of a compiled catalog, with a health
//! view where the named checks are down.

use std::str::FromStr;

use edgedns::answer::{resolve, Inputs};
use edgedns::policy::{ClientView, HealthView, SplitMix};
use edgedns::zone::Catalog;
use hickory_proto::op::{Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

/// Checks that are down; every other check counts as healthy.
pub struct Down(pub Vec<&'static str>);

impl HealthView for Down {
    fn is_healthy(&self, check: &str) -> Option<bool> {
        Some(!self.0.contains(&check))
    }
}

/// The RCODE and the answers' data for `owner` and `record_type`.
pub fn ask(
    catalog: &Catalog,
    owner: &str,
    record_type: RecordType,
    client: &ClientView,
    health: &dyn HealthView,
    random: &mut SplitMix,
) -> (ResponseCode, Vec<String>) {
    let question = Query::query(Name::from_str(owner).unwrap(), record_type);
    let mut inputs = Inputs { client, health, random, trace: None };
    let resolution = resolve(catalog, &question, &mut inputs);
    (resolution.rcode, resolution.answers.records().iter().map(|r| r.data.to_string()).collect())
}
