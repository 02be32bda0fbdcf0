"""A second DNSSEC validator for tests/dnssec.rs: dnspython's dns.dnssec.

verify.py ORIGIN SIGNED_FILE NOW [ANSWERS_FILE]

Reads the signed zone (one record a line, `OWNER TTL IN TYPEn \\# LENGTH HEX`, RFC 3597 §5),
takes its DNSKEY RRset at ORIGIN, and checks every RRset's RRSIGs with dns.dnssec.validate at
NOW (Unix seconds). ANSWERS_FILE holds answers as a resolver would see them (a wildcard
expansion: the records and their RRSIG at the query name), checked the same way. Prints one
line per RRset: `ok NAME TYPE`, `unsigned NAME TYPE` or `bad NAME TYPE reason`.
"""

import sys

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def read(path):
    """The RRsets of a file: {(owner, type): rrset} and {(owner, covered type): RRSIG rrset}."""
    sets, signatures = {}, {}
    with open(path, encoding="ascii") as lines:
        for line in lines:
            owner, ttl, rdclass, kind, generic, length, data = line.split()
            assert rdclass == "IN" and kind.startswith("TYPE") and generic == "\\#"
            rdtype = int(kind[4:])
            wire = bytes.fromhex(data)
            assert len(wire) == int(length)
            rdata = dns.rdata.from_wire(dns.rdataclass.IN, rdtype, wire, 0, len(wire))
            name = dns.name.from_text(owner)
            if rdtype == dns.rdatatype.RRSIG:
                key, target = (name, rdata.type_covered), signatures
            else:
                key, target = (name, rdtype), sets
            if key not in target:
                target[key] = dns.rrset.RRset(name, dns.rdataclass.IN, rdata.rdtype)
            target[key].add(rdata, int(ttl))
    return sets, signatures


def main():
    origin = dns.name.from_text(sys.argv[1])
    now = float(sys.argv[3])
    sets, signatures = read(sys.argv[2])
    keys = {origin: sets[(origin, dns.rdatatype.DNSKEY)]}
    files = [(sets, signatures)]
    if len(sys.argv) > 4:
        files.append(read(sys.argv[4]))
    for sets, signatures in files:
        for (name, rdtype), rrset in sets.items():
            kind = dns.rdatatype.to_text(rdtype)
            sigset = signatures.get((name, rdtype))
            if sigset is None:
                print(f"unsigned {name} {kind}")
                continue
            try:
                dns.dnssec.validate(rrset, sigset, keys, now=now)
                print(f"ok {name} {kind}")
            except dns.dnssec.ValidationFailure as failure:
                print(f"bad {name} {kind} {failure}")


main()
