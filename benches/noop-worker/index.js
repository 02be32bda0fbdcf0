// The runtime's own cost of a DoH answer: a no-op JavaScript Worker that does the least a DoH
// endpoint must (RFC 8484 §4.1: the `dns` parameter of a GET, base64url without padding, or a
// POST body), then answers the question with no records (NOERROR, the question echoed, no
// EDNS). `scripts/bench-e2e.sh` serves it from the same workerd, behind the same nginx front,
// with the same dnsperf query mix as the Worker, so the difference between the two is what the
// Worker itself costs. A benchmark baseline only: it checks nothing a real server must.

const DNS_MESSAGE = "application/dns-message";

function fromBase64Url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// The end of the question section (header, QNAME, QTYPE, QCLASS), or -1.
function questionEnd(query) {
  let at = 12;
  while (at < query.length) {
    const length = query[at];
    if (length === 0) return at + 5 <= query.length ? at + 5 : -1;
    if (length >= 0xc0) return -1;
    at += 1 + length;
  }
  return -1;
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== "/dns-query") return new Response("not found", { status: 404 });
    let query;
    if (request.method === "POST") {
      query = new Uint8Array(await request.arrayBuffer());
    } else {
      const dns = url.searchParams.get("dns");
      if (dns === null) return new Response("no dns parameter", { status: 400 });
      try {
        query = fromBase64Url(dns);
      } catch {
        return new Response("bad base64url", { status: 400 });
      }
    }
    const end = query.length >= 12 ? questionEnd(query) : -1;
    if (end < 0) return new Response("not a DNS query", { status: 400 });
    const answer = query.slice(0, end);
    answer[2] = 0x80 | (query[2] & 0x79); // QR, the opcode and RD kept; AA, TC off
    answer[3] = 0; // RA off, RCODE NOERROR
    answer.fill(0, 6, 12); // no answer, authority or additional records
    answer[4] = 0;
    answer[5] = 1; // one question
    return new Response(answer, { headers: { "content-type": DNS_MESSAGE, "cache-control": "max-age=300" } });
  },
};
