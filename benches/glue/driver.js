// What a DoH request costs inside the isolate, without HTTP, TLS or the front: the built Worker
// (`./index.js`, build/) and the no-op Worker (`./noop.js`, benches/noop-worker) are called
// here, in one workerd isolate, the way workerd calls them, on the same prebuilt requests; the
// difference is what the Worker's own code costs a query. `scripts/bench-glue.sh` serves this
// module and asks `GET /__glue?rounds=R`. A benchmark: it measures, it asserts nothing.
//
// Each case is run in rounds over every query of `./queries.txt` (the part 5 mix), the cases
// taking turns round by round, the first round a warm-up (the Worker reads its shards from KV
// then). A round's time is read between two awaited zero-length timers, as
// src/bench_worker.rs does (workerd at the edge moves the clock only across I/O); the median
// round is reported, in ns per request.
//
// The cases:
//   empty       no Worker: a bare `new Response(null)` per request (the harness's own cost)
//   construct   what workerd makes per request of the Worker's default export and its `fetch`
//               looked up, not called: an entrypoint for a class export (worker-build's), nothing
//               for an object export (scripts/object-entry.mjs); then a bare response, as `empty`
//   head        the Worker's one call that reads the request (src/worker/runtime.js
//               `requestHead`), then a bare response
//   respond     the Worker's one call that builds a response, with a DoH answer's headers
//               (kept by the runtime after the first: `respondKept`) and a body of its size,
//               and nothing else
//   respond-text  the same with the headers sent as text every time (`respond`)
//   noop        the no-op Worker's `fetch` (an object export: nothing is constructed)
//   worker      the Worker as workerd calls its default export: for a class, a new entrypoint
//               per request (`new Entrypoint(ctx, env)`) then its `fetch`; for an object, its
//               `fetch(request, env, ctx)`
//   worker-404  the same for a path the Worker does not serve: reading the request head and
//               building a response, no DNS work
//   ref, ref-404  `worker` and `worker-404` for a reference build (`./ref.js`, BENCH_GLUE_REF;
//               the same build when none is given): two builds side by side in one isolate
//   worker-edns `worker` with an OPT record and DO=0 on every query (the unsigned baseline of
//               worker-do: the same response but for the signatures)
//   worker-do   `worker` with EDNS and DO=1 on every query: signed answers when the zone signs
//               (BENCH_GLUE_DNSSEC); after the warm-up round every signature is in the cache
//   worker-nx, worker-nx-do  1,000 names that do not exist, new ones every round, with an OPT
//               record, DO=0 and DO=1: with DO each answer's NSEC is signed anew (a cold cache), the SOA's
//               signature comes from the cache

import Worker from "./index.js";
import Reference from "./ref.js";
import noop from "./noop.js";
import queryText from "./queries.txt";
import { requestHead, respond, respondKept } from "./runtime.js";

const TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, HTTPS: 65, CAA: 257 };

// A query message for `name` and `type`: id 0, RD, one question, no EDNS (as dnsperf sends
// with -D off) or an OPT record (`optFlags`: 0, or 0x80 for DO=1), base64url without padding
// (RFC 8484 §4.1).
function dnsParameter(name, type, optFlags = null) {
  const bytes = [0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of name.replace(/\.$/, "").split(".")) {
    bytes.push(label.length, ...new TextEncoder().encode(label));
  }
  const code = TYPES[type] ?? 1;
  bytes.push(0, code >> 8, code & 255, 0, 1);
  if (optFlags !== null) {
    bytes[11] = 1;
    // OPT: root, type 41, payload 1232, extended RCODE 0, version 0, flags, no options.
    bytes.push(0, 0, 41, 4, 208, 0, 0, optFlags, 0, 0, 0);
  }
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const questions = queryText
  .split("\n")
  .map((line) => line.trim().split(/\s+/))
  .filter((fields) => fields.length >= 2);
const urls = questions.map(([name, type]) => `https://dns.bench.test/dns-query?dns=${dnsParameter(name, type)}`);
const ednsUrls = questions.map(([name, type]) => `https://dns.bench.test/dns-query?dns=${dnsParameter(name, type, 0)}`);
const signedUrls = questions.map(([name, type]) => `https://dns.bench.test/dns-query?dns=${dnsParameter(name, type, 0x80)}`);

const HEADERS = { accept: "application/dns-message" };

function requests(path, list = urls) {
  return list.map((url) => new Request(path === null ? url : url.replace("/dns-query", path), { headers: HEADERS }));
}

// 1,000 names no zone holds, new in every round `r` (so no signature of theirs is cached).
function nonexistent(r, dnssecOk) {
  const names = Array.from({ length: 1000 }, (_, i) => `nx${r}-${i}.bench.test`);
  return requests(null, names.map((name) => `https://dns.bench.test/dns-query?dns=${dnsParameter(name, "A", dnssecOk ? 0x80 : 0)}`));
}

// What the Worker answers a plain A query with: its headers, and a body of that size.
const RESPONSE_HEADERS = "content-type\napplication/dns-message\naccess-control-allow-origin\n*\ncache-control\nmax-age=300";
const ANSWER = new Uint8Array(62);

const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

// One round: every request once through `call`, each response's body read (the runtime reads
// it to send it). ns per request, and how many answered 200.
async function round(call, list) {
  await pause();
  const start = Date.now();
  let ok = 0;
  for (const request of list) {
    let response = call(request);
    if (response instanceof Promise) response = await response;
    if (response.status === 200) ok++;
    await response.arrayBuffer();
  }
  const elapsed = Date.now() - start;
  await pause();
  return { ns: (elapsed * 1e6) / list.length, ok };
}

// Every case in turn, round after round (so that the machine's drift falls on all of them
// alike): the first round of each a warm-up, then `rounds` timed ones. Per case, the median
// round and the range, and every round in order (so that two cases can be compared round by
// round), in ns per request.
async function measure(cases, rounds) {
  const times = new Map(cases.map(([name]) => [name, []]));
  const ok = new Map();
  const counts = new Map();
  for (let r = 0; r <= rounds; r++) {
    for (const [name, call, path] of cases) {
      // Fresh requests per round: a body or a `cf` read once stays read.
      const list = typeof path === "function" ? path(r) : requests(path);
      const result = await round(call, list);
      counts.set(name, list.length);
      if (r > 0) times.get(name).push(result.ns);
      ok.set(name, result.ok);
    }
  }
  const results = {};
  for (const [name, rounds_ns] of times) {
    const list = [...rounds_ns].sort((a, b) => a - b);
    results[name] = { median_ns: Math.round(list[list.length >> 1]), min_ns: Math.round(list[0]), max_ns: Math.round(list[list.length - 1]), rounds_ns: rounds_ns.map(Math.round), requests: counts.get(name), ok: ok.get(name) };
  }
  return results;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== "/__glue") return new Response("not found", { status: 404 });
    const rounds = Number(url.searchParams.get("rounds") ?? "7");
    const only = url.searchParams.get("cases")?.split(",") ?? ["empty", "construct", "head", "respond", "respond-text", "noop", "worker", "worker-404", "ref", "ref-404"];
    // As workerd calls a default export: a class is constructed per request, an object is not.
    const entry = (exported) => (typeof exported === "function" ? new exported(ctx, env) : exported);
    const call = (exported, r) => (typeof exported === "function" ? new exported(ctx, env).fetch(r) : exported.fetch(r, env, ctx));
    const cases = {
      empty: [() => new Response(null), null],
      construct: [
        () => {
          if (typeof entry(Worker).fetch !== "function") throw new Error("no fetch");
          return new Response(null);
        },
        null,
      ],
      head: [
        (r) => {
          if (requestHead(r).length === 0) throw new Error("no head");
          return new Response(null);
        },
        null,
      ],
      // This copy of runtime.js is the harness's own (each build bundles its own): its slot 63,
      // filled below, is no one else's.
      respond: [() => respondKept(200, 63, ANSWER), null],
      "respond-text": [() => respond(200, 63, RESPONSE_HEADERS, ANSWER), null],
      noop: [(r) => noop.fetch(r, env, ctx), null],
      worker: [(r) => call(Worker, r), null],
      "worker-404": [(r) => call(Worker, r), "/nothing-here"],
      ref: [(r) => call(Reference, r), null],
      "ref-404": [(r) => call(Reference, r), "/nothing-here"],
      "worker-edns": [(r) => call(Worker, r), () => requests(null, ednsUrls)],
      "worker-do": [(r) => call(Worker, r), () => requests(null, signedUrls)],
      "worker-nx": [(r) => call(Worker, r), (round) => nonexistent(round, false)],
      "worker-nx-do": [(r) => call(Worker, r), (round) => nonexistent(round, true)],
    };
    respond(200, 63, RESPONSE_HEADERS, ANSWER);
    const unknown = only.filter((name) => !(name in cases));
    if (unknown.length) return new Response(`unknown cases: ${unknown.join(", ")}`, { status: 400 });
    return Response.json(await measure(only.map((name) => [name, ...cases[name]]), rounds));
  },
};
