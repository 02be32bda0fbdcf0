"""Validates the Worker's signed answers with dnspython's dns.dnssec (tests/e2e/dnssec.rs).

dnssec_check.py DS_FILE NOW RESPONSE...

DS_FILE: the DS records the CLI printed (`edgedns dnssec ds ZONE`), one a line, presentation
form; they are the trust anchors. Each RESPONSE is a DNS response in wire form as the Worker
sent it. For each signed zone the DNSKEY RRset must be among the responses, hold a key a DS
names and be signed by that key (by it, not only by another key of the set); then every RRset
of the Answer and Authority sections owned by a signed zone must carry an RRSIG that validates
at NOW (Unix seconds) with the zone's DNSKEY, except the NS RRset of a referral, which the
parent does not sign (RFC 4035 §2.2). Prints one line per RRset (`ok FILE NAME TYPE` or `bad FILE NAME TYPE reason`); exits 1 if any is bad.
"""

import sys

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def main():
    ds_file, now, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    anchors = {}
    with open(ds_file, encoding="ascii") as lines:
        for line in lines:
            tokens = line.split()
            if "DS" in tokens:
                name = dns.name.from_text(tokens[0])
                rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DS, " ".join(tokens[tokens.index("DS") + 1 :]))
                anchors.setdefault(name, []).append(rdata)
    messages = []
    for path in paths:
        with open(path, "rb") as file:
            messages.append((path, dns.message.from_wire(file.read())))
    keys, bad = {}, 0
    for path, message in messages:
        for rrset in message.answer:
            if rrset.rdtype == dns.rdatatype.DNSKEY and rrset.name in anchors:
                signatures = message.find_rrset(message.answer, rrset.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
                matching = [key for key in rrset if any(dns.dnssec.make_ds(rrset.name, key, "SHA256") == ds for ds in anchors[rrset.name])]
                if not matching:
                    print(f"bad {path} {rrset.name} DNSKEY no key matches the DS")
                    bad += 1
                    continue
                # Signed by a key the DS names, not just by some key of the set: during a
                # rollover a validator trusts only the key its DS is for.
                trusted = dns.rrset.from_rdata_list(rrset.name, rrset.ttl, matching)
                try:
                    dns.dnssec.validate(rrset, signatures, {rrset.name: trusted}, now=now)
                except dns.dnssec.ValidationFailure as error:
                    print(f"bad {path} {rrset.name} DNSKEY not signed by the key the DS names: {error!r}")
                    bad += 1
                    continue
                keys[rrset.name] = rrset
                print(f"ok {path} {rrset.name} DNSKEY (matches the DS)")
    for zone in anchors:
        if zone not in keys:
            print(f"bad - {zone} DNSKEY not among the responses")
            bad += 1

    def zone_of(name):
        found = [zone for zone in keys if name.is_subdomain(zone)]
        return max(found, key=len, default=None)

    for path, message in messages:
        referral = not message.flags & dns.flags.AA and any(r.rdtype == dns.rdatatype.NS for r in message.authority)
        for section in (message.answer, message.authority):
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.RRSIG:
                    continue
                zone = zone_of(rrset.name)
                if zone is None:
                    print(f"unsigned {path} {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} (no signed zone)")
                    continue
                if referral and rrset.rdtype == dns.rdatatype.NS:
                    print(f"unsigned {path} {rrset.name} NS (a referral's NS, RFC 4035 §2.2)")
                    continue
                try:
                    signatures = message.find_rrset(section, rrset.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, rrset.rdtype)
                    dns.dnssec.validate(rrset, signatures, {zone: keys[zone]}, now=now)
                    print(f"ok {path} {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}")
                except (KeyError, dns.dnssec.ValidationFailure) as error:
                    print(f"bad {path} {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} {error!r}")
                    bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
