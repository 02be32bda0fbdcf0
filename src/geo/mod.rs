//! Geography for routing: where places are (countries, subdivisions, cloud regions, edge
//! locations) and which country and network an IP address belongs to.
//!
//! * [`places`]: static tables of ISO 3166 codes, continents, cloud regions and edge
//!   locations with coordinates, and great-circle distance.
//! * [`ipdb`]: the compact IP-range table (built from a freely licensed data set, stored in
//!   KV) that locates an EDNS Client Subnet.

pub mod ipdb;
pub mod places;

use ipnet::IpNet;

use crate::client::SubnetLocator;
use ipdb::IpTable;

/// KV key naming the current GeoIP version (written last, like the zone snapshot's).
pub const GEOIP_CURRENT_KEY: &str = "geoip:current";

/// KV key of a GeoIP image of a kind (`country` or `asn`) and version.
pub fn geoip_key(kind: &str, version: &str) -> String {
    format!("geoip:{kind}:{version}")
}

/// The GeoIP tables an isolate has loaded; either may be missing.
#[derive(Debug, Default)]
pub struct GeoIp {
    /// Address → country.
    pub country: Option<IpTable>,
    /// Address → autonomous system.
    pub asn: Option<IpTable>,
}

impl SubnetLocator for GeoIp {
    fn country(&self, network: IpNet) -> Option<(Option<String>, u8)> {
        let located = self.country.as_ref()?.locate(network);
        let country = located.value.and_then(|value| value.country_code().map(str::to_owned));
        Some((country, located.network.prefix_len()))
    }

    fn asn(&self, network: IpNet) -> Option<(Option<u32>, u8)> {
        let located = self.asn.as_ref()?.locate(network);
        Some((located.value.and_then(|value| value.asn()), located.network.prefix_len()))
    }
}
