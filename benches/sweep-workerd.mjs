// The 1M-record sweep through workerd (BENCHMARKS.md part 7, issue 14 goal 3): a fresh workerd
// serving the built Worker is asked one name alone (the first query of a cold isolate), then
// every name of the generated zone (type A, canonical order), twice, over plain HTTP/1.1 DoH
// GETs on 127.0.0.1. Every answer is checked against the zone files: NOERROR, the question
// echoed, and the record the zone holds (a host's address, NODATA for an AAAA-only host or the
// apex, the chain's or alias's target, a routed set's some A). One wrong answer fails the run.
// After the first query and after each pass it reads the isolate's own counters and memory
// (`GET /admin/isolate`) and workerd's RSS (/proc/PID/status), and writes them as JSON.
//
//   node benches/sweep-workerd.mjs PORT ADMIN_TOKEN WORKERD_PID ZONE_DIR OUT.json [CONCURRENCY [INSPECTOR]]
//
// With INSPECTOR (workerd's --inspector-addr, HOST:PORT), once the passes are over it also reads
// V8's JavaScript heap (the isolate's other memory, beside the wasm memory), as found and after
// a forced collection (`gc()`: workerd started with --expose-gc). Not before: a debugger
// session could change how the isolate runs.
//
// Called by scripts/bench-sweep.sh. A benchmark: it asserts answers, not times.
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";

const [port, token, pid, zoneDir, out, concurrencyArg, inspector] = process.argv.slice(2);
if (!out) {
  console.error("usage: node benches/sweep-workerd.mjs PORT ADMIN_TOKEN WORKERD_PID ZONE_DIR OUT.json [CONCURRENCY]");
  process.exit(2);
}
const concurrency = Number(concurrencyArg ?? 32);
const origin = "bench.test.";

// ------------------------------------------------------------ the names and what each answers
// expect: an address (the answer's A records include it), "nodata" (NOERROR, no answer), or
// "any" (some A record: a routed set, whose pick depends on health and the client).
const expected = new Map();
const master = readFileSync(`${zoneDir}/bench.test.zone`, "utf8");
for (const line of master.split("\n")) {
  const fields = line.trim().split(/\s+/);
  if (!fields[0] || fields[0].startsWith(";") || fields[0].startsWith("$")) continue;
  const owner = fields[0] === "@" ? origin : `${fields[0]}.${origin}`;
  const type = fields.find((f) => /^(A|AAAA|CNAME|NS|SOA)$/.test(f));
  const value = fields[fields.length - 1];
  const before = expected.get(owner);
  if (type === "A") expected.set(owner, value);
  else if (type === "CNAME") expected.set(owner, { cname: `${value}.${origin}` });
  else if (before === undefined) expected.set(owner, "nodata");
}
// The chain and the alias answer their target's address.
const target = (expect) => (expect && typeof expect === "object" ? target(expected.get(expect.cname)) : expect);
for (const [owner, expect] of expected) if (typeof expect === "object") expected.set(owner, target(expect));
const routes = readFileSync(`${zoneDir}/bench.test.routes.toml`, "utf8");
for (const block of routes.split("[[records]]").slice(1)) {
  const name = /^name = "([^"]+)"/m.exec(block)[1];
  const alias = /^alias = "([^"]+)"/m.exec(block);
  expected.set(`${name}.${origin}`, alias ? expected.get(`${alias[1]}.${origin}`) : "any");
}
// Canonical order (RFC 4034 §6.1): labels compared from the right, lowercased.
const sortKey = (name) => name.toLowerCase().split(".").reverse().join("\x00");
const names = [...expected.keys()].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));

// ------------------------------------------------------------ DNS wire
// A query for NAME A, id 0 and RD (RFC 8484 §4.1: id 0 for GET), as base64url.
function question(name) {
  const labels = name.split(".").filter(Boolean);
  const bytes = [];
  for (const label of labels) bytes.push(label.length, ...Buffer.from(label, "ascii"));
  bytes.push(0, 0, 1, 0, 1); // root, type A, class IN
  return Buffer.from(bytes);
}
function query(name) {
  const header = Buffer.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, question(name)]).toString("base64url");
}
// Skips a (possibly compressed) name at `at`; returns the offset after it.
function skipName(message, at) {
  for (;;) {
    const length = message[at];
    if (length === undefined) throw new Error("truncated name");
    if (length === 0) return at + 1;
    if ((length & 0xc0) === 0xc0) return at + 2;
    at += 1 + length;
  }
}
// What is wrong with MESSAGE as the answer to NAME A, or null.
function check(name, message, expect) {
  if (message.length < 12) return `${message.length}-byte response`;
  const rcode = message[3] & 0x0f;
  if (rcode !== 0) return `RCODE ${rcode}`;
  const asked = question(name);
  if ((message.readUInt16BE(4) !== 1) || !message.subarray(12, 12 + asked.length).equals(asked)) return "question not echoed";
  const answers = message.readUInt16BE(6);
  const addresses = [];
  let at = 12 + asked.length;
  for (let i = 0; i < answers; i++) {
    at = skipName(message, at);
    const type = message.readUInt16BE(at);
    const length = message.readUInt16BE(at + 8);
    if (type === 1 && length === 4) addresses.push([...message.subarray(at + 10, at + 14)].join("."));
    at += 10 + length;
  }
  if (expect === "nodata") return answers === 0 ? null : `${answers} answers, expected none`;
  if (expect === "any") return addresses.length > 0 ? null : "no A record";
  return addresses.includes(expect) ? null : `answered [${addresses.join(", ")}], expected ${expect}`;
}

// ------------------------------------------------------------ HTTP
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
function get(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path, agent, headers }, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}
// Requests sent so far (queries and these status reads): one isolate served them all when its
// own request count says so, i.e. the counters are cumulative over the whole run.
let sent = 0;
async function isolate() {
  sent++;
  const { status, body } = await get("/admin/isolate", { authorization: `Bearer ${token}` });
  if (status !== 200) throw new Error(`/admin/isolate: HTTP ${status}: ${body}`);
  const state = JSON.parse(body);
  if (state.counts.requests !== sent) throw new Error(`the isolate served ${state.counts.requests} of the ${sent} requests sent: more than one isolate?`);
  const proc = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(proc)?.[1]);
  return {
    counts: state.counts,
    shards_held: state.shards.held.length,
    shards_total: state.shards.total,
    held_bytes: state.shards.held_bytes,
    memory_bytes: state.memory_bytes,
    vm_rss_kib: kib("VmRSS"),
    vm_hwm_kib: kib("VmHWM"),
    threads: kib("Threads"),
  };
}

const failures = [];
async function ask(name) {
  sent++;
  const { status, body } = await get(`/dns-query?dns=${query(name)}`, { accept: "application/dns-message" });
  const wrong = status === 200 ? check(name, body, expected.get(name)) : `HTTP ${status}: ${body.subarray(0, 200)}`;
  if (wrong) {
    failures.push(`${name} A: ${wrong}`);
    if (failures.length >= 10) throw new Error(`wrong answers:\n  ${failures.join("\n  ")}`);
  }
}
async function pass() {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < names.length) await ask(names[next++]);
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

// ------------------------------------------------------------ the run
const result = { names: names.length, concurrency, steps: [] };
// The first query of the fresh isolate, alone: a plain A host in the middle of the zone.
let first = Math.floor(names.length / 2);
while (typeof expected.get(names[first]) !== "string" || !/^10\./.test(expected.get(names[first]))) first++;
const firstStarted = process.hrtime.bigint();
await ask(names[first]);
const firstSeconds = Number(process.hrtime.bigint() - firstStarted) / 1e9;
result.first_name = names[first];
result.steps.push({ step: "first", names: 1, seconds: firstSeconds, ...(await isolate()) });
console.error(`first query (${names[first]}): ${JSON.stringify(result.steps[0])}`);
for (const n of [1, 2]) {
  const seconds = await pass();
  result.steps.push({ step: `pass ${n}`, names: names.length, seconds, ...(await isolate()) });
  console.error(`pass ${n}: ${JSON.stringify(result.steps.at(-1))}`);
  if (failures.length) break;
}
// V8's JavaScript heap, through the inspector (the `ws` client wrangler brings along).
async function jsHeap(address) {
  const { default: WebSocket } = await import("ws");
  const targets = await (await fetch(`http://${address}/json/list`)).json();
  if (!targets.length) throw new Error(`no inspector target at ${address}`);
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl ?? `ws://${address}/${targets[0].id}`);
  await new Promise((resolve, reject) => { socket.once("open", resolve); socket.once("error", reject); });
  let id = 0;
  const pending = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    const n = ++id;
    const timer = setTimeout(() => reject(new Error(`${method}: no answer in 10 s`)), 10_000);
    pending.set(n, (message) => {
      clearTimeout(timer);
      message.error ? reject(new Error(`${method}: ${message.error.message}`)) : resolve(message.result);
    });
    socket.send(JSON.stringify({ id: n, method, params }));
  });
  // Runtime.enable announces the isolate's context, in which `gc()` (workerd started with
  // --expose-gc) forces a full collection: the heap's live part, not its uncollected garbage.
  // (workerd's inspector leaves HeapProfiler.collectGarbage unanswered.)
  let context;
  socket.on("message", (data) => {
    const message = JSON.parse(data);
    if (message.method === "Runtime.executionContextCreated") context ??= message.params.context.id;
  });
  await call("Runtime.enable");
  const used = await call("Runtime.getHeapUsage");
  const collected = await call("Runtime.evaluate", { expression: "typeof gc === 'function' ? (gc(), 'collected') : 'no gc'", contextId: context });
  if (collected.result?.value !== "collected") throw new Error(`no forced collection: ${JSON.stringify(collected)}`);
  const live = await call("Runtime.getHeapUsage");
  await call("Runtime.disable");
  socket.close();
  return { used_bytes: used.usedSize, total_bytes: used.totalSize, after_gc_used_bytes: live.usedSize, after_gc_total_bytes: live.totalSize };
}
if (inspector && !failures.length) {
  result.js_heap = await jsHeap(inspector);
  console.error(`JavaScript heap after pass 2: ${JSON.stringify(result.js_heap)}`);
}
result.failures = failures;
writeFileSync(out, JSON.stringify(result, null, 2));
if (failures.length) {
  console.error(`wrong answers:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
process.exit(0);
