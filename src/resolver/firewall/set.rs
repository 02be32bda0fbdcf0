//! Several compiled firewalls answering as one: the lists `edgedns firewall publish` published
//! and each subscription's list ([`crate::resolver::subscription`]), compiled and published
//! apart so that one list's download never recompiles another. A check asks each and keeps
//! the strongest rule ([`Strength`]: rank, then specificity, then allow over block over
//! alert; a tie keeps the earlier firewall), which is what compiling them all together would
//! decide.

use std::net::IpAddr;
use std::rc::Rc;

use hickory_proto::rr::{Name, Record};

use super::{name_key, screen_with, Firewall, Lists, Rule, Strength};

/// The firewalls an isolate screens with, in order (the published lists first).
#[derive(Debug, Clone, Default)]
pub struct FirewallSet {
    parts: Vec<Rc<Firewall>>,
}

impl From<Firewall> for FirewallSet {
    fn from(firewall: Firewall) -> Self {
        Self { parts: vec![Rc::new(firewall)] }
    }
}

impl FirewallSet {
    /// The set of these firewalls, in this order.
    pub fn new(parts: Vec<Rc<Firewall>>) -> Self {
        Self { parts }
    }

    /// Its firewalls, in order.
    pub fn parts(&self) -> &[Rc<Firewall>] {
        &self.parts
    }

    /// The rules it holds, every firewall together.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|part| part.len()).sum()
    }

    /// Whether it holds no rule.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of its lists, firewall by firewall.
    pub fn list_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().flat_map(|part| part.list_names())
    }

    /// Lets go of the rules rebuilt for explain ([`Firewall::forget_explained`]) in the
    /// firewalls nothing else holds now.
    pub fn forget_explained(&mut self) {
        for part in &mut self.parts {
            if let Some(part) = Rc::get_mut(part) {
                part.forget_explained();
            }
        }
    }

    /// [`Firewall::check_in`] across the set.
    pub fn check_in<'a>(&'a self, name: &Name, lists: Lists<'a>) -> Option<&'a Rule> {
        let name = name_key(name);
        strongest(self.parts.iter().filter_map(|part| part.decide(&name, lists)))
    }

    /// [`Firewall::check_address_in`] across the set.
    pub fn check_address_in<'a>(&'a self, address: IpAddr, lists: Lists<'a>) -> Option<&'a Rule> {
        strongest(self.parts.iter().filter_map(|part| part.decide_address(address, lists)))
    }

    /// [`Firewall::screen_in`] across the set.
    pub fn screen_in<'a>(&'a self, records: &[Record], lists: Lists<'a>) -> Option<&'a Rule> {
        screen_with(records, |name| self.check_in(name, lists), |address| self.check_address_in(address, lists))
    }
}

/// The strongest of the rules the firewalls chose; a tie keeps the first.
fn strongest<'a>(decided: impl Iterator<Item = (Strength, &'a Rule)>) -> Option<&'a Rule> {
    let mut best: Option<(Strength, &'a Rule)> = None;
    for (strength, rule) in decided {
        if best.is_none_or(|(stronger, _)| strength > stronger) {
            best = Some((strength, rule));
        }
    }
    best.map(|(_, rule)| rule)
}

#[cfg(test)]
mod tests {
    use super::super::{formats, Format, NamedReading};
    use super::*;
    use std::str::FromStr;

    fn compiled(lists: &[(&str, Format, &str)]) -> Firewall {
        let readings: Vec<NamedReading> = lists
            .iter()
            .map(|(name, format, text)| NamedReading { name: Some((*name).to_owned()), format: *format, reading: formats::read(*format, text) })
            .collect();
        Firewall::compile(&readings).unwrap().0
    }

    /// Each list of `lists` compiled alone, as a set.
    fn apart(lists: &[(&str, Format, &str)]) -> FirewallSet {
        FirewallSet::new(lists.iter().map(|list| Rc::new(compiled(std::slice::from_ref(list)))).collect())
    }

    const ADS: (&str, Format, &str) = ("ads.txt", Format::Adblock, "||ads.example^\n||tracker.example^$important\n@@||ok.ads.example^\n||cdn.example^\n");
    const HOSTS: (&str, Format, &str) = ("hosts", Format::Hosts, "0.0.0.0 ok.ads.example\n0.0.0.0 deep.ok.ads.example\n0.0.0.0 x.tracker.example\n");
    const NATIVE: (&str, Format, &str) = (
        "own.txt",
        Format::Native,
        "allow x.tracker.example\nallow cdn.example\nalert *.ads.example\nblock 198.51.100.0/24 nxdomain\nallow 198.51.100.128/25\n",
    );

    #[test]
    fn a_set_decides_as_the_lists_compiled_together() {
        let lists = [ADS, HOSTS, NATIVE];
        let together = FirewallSet::from(compiled(&lists));
        let set = apart(&lists);
        assert_eq!(set.parts().len(), 3);
        assert_eq!(set.len(), together.len());
        let names = [
            "ads.example",
            "www.ads.example",
            "ok.ads.example",
            "deep.ok.ads.example",
            "tracker.example",
            "x.tracker.example",
            "cdn.example",
            "img.cdn.example",
            "other.example",
        ];
        for text in names {
            let name = Name::from_str(text).unwrap();
            for selection in [Lists::All, Lists::Named(&["hosts".to_owned(), "own.txt".to_owned()]), Lists::Named(&["ads.txt".to_owned()])] {
                let (one, many) = (together.check_in(&name, selection), set.check_in(&name, selection));
                assert_eq!(one.map(|rule| (&rule.list, rule.line)), many.map(|rule| (&rule.list, rule.line)), "{text} {selection:?}");
            }
        }
        for (address, expected) in [("198.51.100.7", Some(4)), ("198.51.100.200", Some(5)), ("192.0.2.1", None)] {
            let address: IpAddr = address.parse().unwrap();
            assert_eq!(set.check_address_in(address, Lists::All).map(|rule| rule.line), expected, "{address}");
            assert_eq!(together.check_address_in(address, Lists::All).map(|rule| rule.line), expected, "{address}");
        }
    }

    #[test]
    fn rank_beats_specificity_and_allow_beats_block_across_firewalls() {
        let set = apart(&[ADS, HOSTS, NATIVE]);
        let check = |text: &str| set.check_in(&Name::from_str(text).unwrap(), Lists::All).map(|rule| (rule.list.as_deref().map(str::to_owned), rule.line));
        // The exception in ads.txt outranks the hosts file's block of a more specific name.
        assert_eq!(check("deep.ok.ads.example"), Some((Some("ads.txt".to_owned()), 3)));
        // $important outranks an own allow of a more specific name.
        assert_eq!(check("x.tracker.example"), Some((Some("ads.txt".to_owned()), 2)));
        // One pattern, one rank: the allow of the last firewall beats the block of the first.
        assert_eq!(check("cdn.example"), Some((Some("own.txt".to_owned()), 2)));
        // One pattern's slot, one rank: a block beats an alert whichever firewall holds it.
        assert_eq!(check("www.ads.example"), Some((Some("ads.txt".to_owned()), 1)));
        assert_eq!(check("ads.example"), Some((Some("ads.txt".to_owned()), 1)));
        assert_eq!(check("other.example"), None);
    }

    #[test]
    fn ties_keep_the_earlier_firewall() {
        let first = ("a.txt", Format::Domains, "same.example\n");
        let second = ("b.txt", Format::Domains, "same.example\n");
        let set = apart(&[first, second]);
        let rule = set.check_in(&Name::from_str("www.same.example").unwrap(), Lists::All).unwrap();
        assert_eq!(rule.list.as_deref(), Some("a.txt"));
        let only_b = ["b.txt".to_owned()];
        let rule = set.check_in(&Name::from_str("www.same.example").unwrap(), Lists::Named(&only_b)).unwrap();
        assert_eq!(rule.list.as_deref(), Some("b.txt"));
        assert_eq!(set.list_names().collect::<Vec<_>>(), ["a.txt", "b.txt"]);
    }
}
