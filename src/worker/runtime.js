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
// wasm memory (copied here: the memory is reused once this returns). The headers are kept as
// a `Headers` object in `slot` (src/doh/header_sets.rs), so that the next response with the
// same headers is made by `respondKept` without them crossing again; a response copies the
// `Headers` it is given, so the kept object never changes. (If the wasm instance is started
// anew, its first use of each slot sends the headers again, replacing what the slot held.)
const kept = [];
export function respond(status, slot, headers, body) {
  const fields = headers.split("\n");
  const init = new Headers();
  for (let i = 0; i + 1 < fields.length; i += 2) init.append(fields[i], fields[i + 1]);
  kept[slot] = init;
  return new Response(body.slice(), { status, headers: init });
}

// A response whose headers `respond` kept in `slot`.
export function respondKept(status, slot, body) {
  return new Response(body.slice(), { status, headers: kept[slot] });
}
