// The calls into the runtime a DNS answer needs, each one crossing from wasm to JavaScript
// (src/worker/runtime.rs): what `worker`'s wrappers do in several crossings and copies each.

// The request line and the headers an answer reads, in one string: the method, the URL,
// then `content-type`, `accept` and `cf-connecting-ip`, each "" when absent or "=" and its
// value. Lines are split at "\n", which neither a header value (RFC 9110 §5.5) nor a
// serialized URL can hold.
export function requestHead(request) {
  const headers = request.headers;
  const field = (name) => {
    const value = headers.get(name);
    return value === null ? "" : "=" + value;
  };
  return `${request.method}\n${request.url}\n${field("content-type")}\n${field("accept")}\n${field("cf-connecting-ip")}`;
}

// The fields of `request.cf` the engine reads (src/client.rs `EdgeLocation`), as JSON; those
// the runtime leaves out stay out. `undefined` when the request has no `cf` object.
export function edgeLocation(request) {
  const cf = request.cf;
  if (cf === null || typeof cf !== "object") return undefined;
  return JSON.stringify({
    country: cf.country,
    continent: cf.continent,
    regionCode: cf.regionCode,
    city: cf.city,
    latitude: cf.latitude,
    longitude: cf.longitude,
    asn: cf.asn,
    colo: cf.colo,
  });
}

// A response in one step: `headers` is names and values on alternate lines, `body` a view of
// wasm memory (copied here: the memory is reused once this returns). The headers go to the
// runtime as an object (a record): it takes one in about half the time it takes the same
// fields as a list of pairs (BENCHMARKS.md part 8); a name given twice needs the list.
export function respond(status, headers, body) {
  const fields = headers.split("\n");
  const record = {};
  let repeated = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (Object.hasOwn(record, fields[i])) repeated = true;
    record[fields[i]] = fields[i + 1];
  }
  let init = record;
  if (repeated) {
    init = [];
    for (let i = 0; i + 1 < fields.length; i += 2) init.push([fields[i], fields[i + 1]]);
  }
  return new Response(body.slice(), { status, headers: init });
}
