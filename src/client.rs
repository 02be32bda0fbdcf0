//! Where the client is: the EDNS Client Subnet option (RFC 7871) and the location data the
//! edge attaches to the connection.
//!
//! Both are untrusted input. The subnet is checked byte by byte when the query is parsed
//! ([`ClientSubnet::decode`]); the edge location is read field by field, and any missing or
//! malformed field is simply absent.

use std::cell::OnceCell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::geo::places::{self, Coordinates};
use crate::policy::{ClientView, ClientViewSource};

/// EDNS option code of Client Subnet (RFC 7871 §6).
pub const CLIENT_SUBNET_OPTION: u16 = 8;

/// A checked EDNS Client Subnet option from a query (RFC 7871 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSubnet {
    /// The client network: ADDRESS with SOURCE PREFIX-LENGTH. Bits beyond it are zero.
    network: IpNet,
}

/// Why a Client Subnet option was malformed (each one is FORMERR, RFC 7871 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubnetError {
    /// The option is shorter than its fixed fields.
    Truncated,
    /// FAMILY is neither 1 (IPv4) nor 2 (IPv6).
    UnknownFamily(u16),
    /// SOURCE PREFIX-LENGTH is longer than the address family allows.
    PrefixTooLong(u8),
    /// ADDRESS is not exactly as long as SOURCE PREFIX-LENGTH needs.
    AddressLength,
    /// ADDRESS has bits set beyond SOURCE PREFIX-LENGTH.
    BitsBeyondPrefix,
}

impl ClientSubnet {
    /// Parses the option data (FAMILY, SOURCE, SCOPE, ADDRESS) strictly, as RFC 7871 §6 and
    /// §7.1.1 require: the address holds exactly ceil(SOURCE / 8) octets and nothing beyond
    /// SOURCE is set. SCOPE in a query is ignored.
    pub fn decode(data: &[u8]) -> Result<Self, SubnetError> {
        let (fixed, address) = data.split_at_checked(4).ok_or(SubnetError::Truncated)?;
        let [f0, f1, source, _scope] = <[u8; 4]>::try_from(fixed).map_err(|_| SubnetError::Truncated)?;
        let family = u16::from_be_bytes([f0, f1]);
        let max = match family {
            1 => 32,
            2 => 128,
            other => return Err(SubnetError::UnknownFamily(other)),
        };
        if source > max {
            return Err(SubnetError::PrefixTooLong(source));
        }
        if address.len() != usize::from(source).div_ceil(8) {
            return Err(SubnetError::AddressLength);
        }
        let ip = if family == 1 {
            let mut octets = [0u8; 4];
            for (slot, byte) in octets.iter_mut().zip(address) {
                *slot = *byte;
            }
            IpAddr::V4(Ipv4Addr::from(octets))
        } else {
            let mut octets = [0u8; 16];
            for (slot, byte) in octets.iter_mut().zip(address) {
                *slot = *byte;
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        };
        let network = IpNet::new(ip, source).map_err(|_| SubnetError::PrefixTooLong(source))?;
        if network.trunc().addr() != ip {
            return Err(SubnetError::BitsBeyondPrefix);
        }
        Ok(Self { network })
    }

    /// Builds an option for a client network (host bits are cleared).
    pub fn new(network: IpNet) -> Self {
        Self { network: network.trunc() }
    }

    /// The client network (ADDRESS / SOURCE PREFIX-LENGTH).
    pub fn network(&self) -> IpNet {
        self.network
    }

    /// SOURCE PREFIX-LENGTH.
    pub fn source_prefix(&self) -> u8 {
        self.network.prefix_len()
    }

    /// The option data for a response: FAMILY, SOURCE and ADDRESS as received, with `scope`
    /// (RFC 7871 §7.2.1), which is clamped to SOURCE so the scope never claims more than the
    /// client disclosed.
    pub fn encode_response(&self, scope: u8) -> Vec<u8> {
        let source = self.source_prefix();
        let (family, octets): (u16, Vec<u8>) = match self.network.addr() {
            IpAddr::V4(v4) => (1, v4.octets().to_vec()),
            IpAddr::V6(v6) => (2, v6.octets().to_vec()),
        };
        let mut data = Vec::with_capacity(4 + octets.len());
        data.extend_from_slice(&family.to_be_bytes());
        data.push(source);
        data.push(scope.min(source));
        data.extend(octets.into_iter().take(usize::from(source).div_ceil(8)));
        data
    }

    /// Whether the address can carry a location: private, loopback, link-local, documentation
    /// and other special-purpose networks cannot (the connecting client is used instead).
    pub fn is_locatable(&self) -> bool {
        self.source_prefix() > 0 && is_internet_client(self.network.addr())
    }
}

/// Whether an address can stand for a client on the internet: not private (RFC 1918),
/// loopback, link-local, shared (RFC 6598), multicast, unspecified, reserved (240/4, 0/8)
/// or unique-local. The documentation prefixes (RFC 5737, RFC 3849) are accepted, so
/// examples and tests can use them as client networks.
pub fn is_internet_client(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments().first().copied().unwrap_or(0);
            if let Some(mapped) = v6.to_ipv4_mapped() {
                return is_internet_client(IpAddr::V4(mapped));
            }
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// What the edge says about the connecting client (the Workers `request.cf` object).
///
/// Every field is optional: local development, unusual clients and future runtime versions
/// may leave any of them out, and a malformed field is treated as missing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EdgeLocation {
    /// ISO 3166-1 alpha-2 country code.
    #[serde(deserialize_with = "lenient_string")]
    pub country: Option<String>,
    /// Continent code (AF, AN, AS, EU, NA, OC, SA).
    #[serde(deserialize_with = "lenient_string")]
    pub continent: Option<String>,
    /// ISO 3166-2 subdivision code without the country prefix (e.g. `TX`).
    #[serde(deserialize_with = "lenient_string")]
    pub region_code: Option<String>,
    /// City name.
    #[serde(deserialize_with = "lenient_string")]
    pub city: Option<String>,
    /// Latitude in degrees (the runtime sends it as a string).
    #[serde(deserialize_with = "lenient_number")]
    pub latitude: Option<f64>,
    /// Longitude in degrees (the runtime sends it as a string).
    #[serde(deserialize_with = "lenient_number")]
    pub longitude: Option<f64>,
    /// Autonomous system number of the client's network.
    #[serde(deserialize_with = "lenient_asn")]
    pub asn: Option<u32>,
    /// IATA code of the edge location that took the request.
    #[serde(deserialize_with = "lenient_string")]
    pub colo: Option<String>,
}

impl EdgeLocation {
    /// Reads the location from the JSON form of `request.cf`; anything unreadable is absent.
    pub fn from_json(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// Reads the edge's location data for a connection when an answer first needs it. Most
/// answers need none of it (only routed sets look at where the client is), and in the Worker
/// reading it costs calls into the runtime, so the Worker hands the engine this instead of
/// the data ([`Client::location_source`]).
pub trait LocationSource {
    /// The location data, read once and kept; anything unreadable is absent.
    fn location(&self) -> &EdgeLocation;
}

/// Everything known about the client that asked.
#[derive(Clone, Default)]
pub struct Client {
    /// The connecting address, if the runtime gave one.
    pub address: Option<IpAddr>,
    /// The edge's location data for the connection (unused when `location_source` is set).
    pub location: EdgeLocation,
    /// Where to read the edge's location data from, on first use, instead of `location`.
    pub location_source: Option<Rc<dyn LocationSource>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("address", &self.address).field("location", self.edge_location()).finish()
    }
}

impl PartialEq for Client {
    fn eq(&self, other: &Self) -> bool {
        self.address == other.address && self.edge_location() == other.edge_location()
    }
}

impl Client {
    /// The edge's location data: read from the source (the first time) when there is one.
    pub fn edge_location(&self) -> &EdgeLocation {
        match &self.location_source {
            Some(source) => source.location(),
            None => &self.location,
        }
    }

    /// The client's view for answering a query with `subnet`, worked out when a routed set
    /// first asks for it ([`ClientViewSource`]): an answer that needs no location reads none.
    pub fn deferred_view<'a>(&'a self, subnet: Option<&'a ClientSubnet>, locator: Option<&'a dyn SubnetLocator>) -> DeferredView<'a> {
        DeferredView { client: self, subnet, locator, view: OnceCell::new() }
    }

    /// Where the client is, as routing policies see it (ROUTING.md "Where the client is"):
    /// the query's Client Subnet when it is usable, otherwise the connection. Location fields
    /// come from the edge's data (country, continent, region, coordinates — or the edge
    /// location's own coordinates — and ASN); their scope is 0, since they do not depend on
    /// the subnet.
    pub fn view(&self, subnet: Option<&ClientSubnet>) -> ClientView {
        self.view_with(subnet, None)
    }

    /// Like [`Client::view`], locating a usable ECS subnet with an IP table: its country
    /// (with the continent and the country's centroid) and ASN then replace the edge's data,
    /// with the matched network's prefix as their scope.
    pub fn view_with(&self, subnet: Option<&ClientSubnet>, locator: Option<&dyn SubnetLocator>) -> ClientView {
        let location = self.edge_location();
        let upper = |value: &Option<String>| value.as_ref().map(|v| v.trim().to_ascii_uppercase()).filter(|v| !v.is_empty());
        let coordinates = match (location.latitude, location.longitude) {
            (Some(latitude), Some(longitude)) if latitude.abs() <= 90.0 && longitude.abs() <= 180.0 => Some(Coordinates { latitude, longitude }),
            _ => location.colo.as_deref().and_then(places::edge_location),
        };
        let country = upper(&location.country);
        let continent = upper(&location.continent).or_else(|| country.as_deref().and_then(places::continent_of).map(str::to_owned));
        let usable_subnet = subnet.filter(|subnet| subnet.is_locatable());
        let network = match usable_subnet {
            Some(subnet) => Some(subnet.network()),
            None => self.address.map(IpNet::from),
        };
        let mut view = ClientView {
            country,
            continent,
            subdivision: upper(&location.region_code),
            coordinates,
            asn: location.asn,
            edge_location: upper(&location.colo),
            network,
            from_subnet: usable_subnet.is_some(),
            geo_scope: 0,
            asn_scope: 0,
        };
        if let (Some(subnet), Some(locator)) = (usable_subnet, locator) {
            // Even "no data for this subnet" depends on the subnet: the scope is then the
            // block of the gap around it, so resolvers do not reuse the answer elsewhere.
            if let Some((country, scope)) = locator.country(subnet.network()) {
                view.geo_scope = scope.min(subnet.source_prefix());
                if let Some(country) = country {
                    view.continent = places::continent_of(&country).map(str::to_owned);
                    view.coordinates = places::country_centroid(&country);
                    view.subdivision = None;
                    view.country = Some(country);
                }
            }
            if let Some((asn, scope)) = locator.asn(subnet.network()) {
                view.asn_scope = scope.min(subnet.source_prefix());
                if asn.is_some() {
                    view.asn = asn;
                }
            }
        }
        view
    }
}

/// A client's view, made on first use ([`Client::deferred_view`]).
pub struct DeferredView<'a> {
    client: &'a Client,
    subnet: Option<&'a ClientSubnet>,
    locator: Option<&'a dyn SubnetLocator>,
    view: OnceCell<ClientView>,
}

impl ClientViewSource for DeferredView<'_> {
    fn client_view(&self) -> &ClientView {
        self.view.get_or_init(|| self.client.view_with(self.subnet, self.locator))
    }
}

/// Locates a client subnet (implemented by the GeoIP tables): the value, if the data has
/// one, and the prefix length of the largest block around the subnet that shares it.
/// `None` when the table is not loaded.
pub trait SubnetLocator {
    /// The ISO country of a network, with the prefix that decided it.
    fn country(&self, network: IpNet) -> Option<(Option<String>, u8)>;
    /// The autonomous system of a network, with the prefix that decided it.
    fn asn(&self, network: IpNet) -> Option<(Option<u32>, u8)>;
}

fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) if !text.is_empty() => Some(text),
        _ => None,
    })
}

fn lenient_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(number) => number.as_f64(),
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|value| value.is_finite()))
}

fn lenient_asn<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    Ok(lenient_number(deserializer)?.filter(|value| value.fract() == 0.0 && *value >= 0.0 && *value <= f64::from(u32::MAX)).map(|value| value as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_ipv4_subnet() {
        let subnet = ClientSubnet::decode(&[0, 1, 24, 0, 192, 0, 2]).unwrap();
        assert_eq!(subnet.network(), "192.0.2.0/24".parse::<IpNet>().unwrap());
        assert_eq!(subnet.encode_response(16), vec![0, 1, 24, 16, 192, 0, 2]);
    }

    #[test]
    fn decodes_ipv6_subnet_and_source_zero() {
        let subnet = ClientSubnet::decode(&[0, 2, 56, 0, 0x20, 1, 0x0d, 0xb8, 0, 0, 0]).unwrap();
        assert_eq!(subnet.source_prefix(), 56);
        let zero = ClientSubnet::decode(&[0, 1, 0, 0]).unwrap();
        assert_eq!(zero.source_prefix(), 0);
        assert!(!zero.is_locatable());
        assert_eq!(zero.encode_response(0), vec![0, 1, 0, 0]);
    }

    #[test]
    fn rejects_malformed_subnets() {
        assert_eq!(ClientSubnet::decode(&[0, 1, 24]), Err(SubnetError::Truncated));
        assert_eq!(ClientSubnet::decode(&[0, 3, 0, 0]), Err(SubnetError::UnknownFamily(3)));
        assert_eq!(ClientSubnet::decode(&[0, 1, 33, 0, 1, 2, 3, 4, 5]), Err(SubnetError::PrefixTooLong(33)));
        assert_eq!(ClientSubnet::decode(&[0, 1, 24, 0, 192, 0]), Err(SubnetError::AddressLength));
        assert_eq!(ClientSubnet::decode(&[0, 1, 24, 0, 192, 0, 2, 0]), Err(SubnetError::AddressLength));
        assert_eq!(ClientSubnet::decode(&[0, 1, 23, 0, 192, 0, 3]), Err(SubnetError::BitsBeyondPrefix));
    }

    #[test]
    fn scope_never_exceeds_source() {
        let subnet = ClientSubnet::decode(&[0, 1, 16, 0, 198, 51]).unwrap();
        assert_eq!(subnet.encode_response(24), vec![0, 1, 16, 16, 198, 51]);
    }

    #[test]
    fn private_addresses_carry_no_location() {
        for private in ["10.1.0.0/16", "192.168.1.0/24", "127.0.0.0/8", "fd00::/8", "fe80::/16", "100.64.0.0/10"] {
            assert!(!ClientSubnet::new(private.parse().unwrap()).is_locatable(), "{private}");
        }
        assert!(ClientSubnet::new("8.8.8.0/24".parse().unwrap()).is_locatable());
        assert!(ClientSubnet::new("2a00:1450::/32".parse().unwrap()).is_locatable());
    }

    #[test]
    fn edge_location_is_read_leniently() {
        let location = EdgeLocation::from_json(
            r#"{"country":"US","continent":"NA","regionCode":"TX","latitude":"30.27130","longitude":-97.7426,"asn":395747,"colo":"DFW","city":7}"#,
        );
        assert_eq!(location.country.as_deref(), Some("US"));
        assert_eq!(location.region_code.as_deref(), Some("TX"));
        assert_eq!(location.latitude, Some(30.2713));
        assert_eq!(location.longitude, Some(-97.7426));
        assert_eq!(location.asn, Some(395747));
        assert_eq!(location.city, None);
        assert_eq!(EdgeLocation::from_json("not json"), EdgeLocation::default());
        assert_eq!(EdgeLocation::from_json(r#"{"latitude":"north"}"#).latitude, None);
    }
}
