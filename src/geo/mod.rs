//! Geography for routing: where places are (countries, subdivisions, cloud regions, edge
//! locations) and which country and network an IP address belongs to.
//!
//! * [`places`]: static tables of ISO 3166 codes, continents, cloud regions and edge
//!   locations with coordinates, and great-circle distance.
//! * [`ipdb`]: the compact IP-range table (built from a freely licensed data set, stored in
//!   KV) that locates an EDNS Client Subnet.

pub mod ipdb;
pub mod places;
