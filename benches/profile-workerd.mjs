// V8's CPU profile of a running workerd, through its inspector (workerd serve --inspector-addr):
//
//   node benches/profile-workerd.mjs record HOST:PORT SECONDS OUT.cpuprofile
//   node benches/profile-workerd.mjs summary OUT.cpuprofile QUERIES [TOP]
//   node benches/profile-workerd.mjs breakdown LABEL=OUT.cpuprofile:QUERIES ...
//
// `record` samples every isolate thread's JavaScript and wasm (100 µs interval) for SECONDS
// while load runs elsewhere (scripts/profile-e2e.sh) and writes the profile (Chrome DevTools'
// .cpuprofile format: open it in DevTools' Performance panel or speedscope). `summary` prints
// where the samples went, per function (self time) and per layer, in µs per query. Sampled,
// not traced: only the isolate's own thread is seen (workerd's HTTP and I/O work outside the
// isolate lock shows as idle time), and each figure is ± a sample's worth. `breakdown` puts
// profiles side by side, each sample given to one step of the request (STEPS).
import { readFileSync, writeFileSync } from "node:fs";
import WebSocket from "ws";

const [mode, ...args] = process.argv.slice(2);

async function record(address, seconds, out) {
  const targets = await (await fetch(`http://${address}/json/list`)).json();
  if (!targets.length) throw new Error(`no inspector target at ${address}`);
  const url = targets[0].webSocketDebuggerUrl ?? `ws://${address}/${targets[0].id}`;
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => { socket.once("open", resolve); socket.once("error", reject); });
  let id = 0;
  const pending = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(data);
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)(message);
      pending.delete(message.id);
    }
  });
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    const n = ++id;
    pending.set(n, (message) => (message.error ? reject(new Error(`${method}: ${message.error.message}`)) : resolve(message.result)));
    socket.send(JSON.stringify({ id: n, method, params }));
  });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const { profile } = await call("Profiler.stop");
  writeFileSync(out, JSON.stringify(profile));
  socket.close();
  console.log(`${out}: ${profile.samples.length} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`);
}

// The layer a function belongs to, from its name and script.
function layer(frame) {
  const name = frame.functionName || "(anonymous)";
  if (name.startsWith("(")) return name; // (idle) (program) (garbage collector) (root)
  if (frame.url.endsWith(".wasm") || /^(wasm-function|\$)/.test(name) || name.includes("::")) {
    for (const [pattern, label] of [
      [/^(edgedns::worker|edgedns::.*fetch|_worker_fetch)/, "wasm: the Worker adapter (edgedns::worker)"],
      [/^edgedns::/, "wasm: the engine (edgedns)"],
      [/^(hickory_proto|data_encoding|base64)/, "wasm: wire format (hickory-proto, base64)"],
      [/^serde_json|^serde|^<serde/, "wasm: serde / serde_json"],
      [/^(dlmalloc|alloc::|<alloc|__rust_alloc|__rust_dealloc|__rust_realloc|memcpy|memmove|memset)/, "wasm: allocation and copies"],
      [/^(worker::|<worker|worker_sys)/, "wasm: the worker crate"],
      [/^(wasm_bindgen|js_sys|web_sys|<js_sys|<wasm_bindgen|wasm_bindgen_futures|__wbindgen|<wasm_bindgen_futures)/, "wasm: wasm-bindgen / js-sys"],
      [/^(url::|<url|idna)/, "wasm: url parsing"],
    ]) {
      if (pattern.test(name)) return label;
    }
    return "wasm: other (core, futures)";
  }
  if (/index\.js$/.test(frame.url) || /shim\.mjs$/.test(frame.url)) return "JS: the Worker's module (index.js: wasm-bindgen glue, or the no-op Worker)";
  if (frame.url === "") return "JS: runtime built-ins";
  return `JS: ${frame.url.split("/").pop()}`;
}

function summary(file, queries, top = 30) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const delta = profile.timeDeltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + delta);
  }
  const perFunction = new Map();
  const perLayer = new Map();
  let busy = 0;
  let total = 0;
  for (const [id, micros] of self) {
    const frame = nodes.get(id).callFrame;
    const key = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").pop()}`.trim();
    perFunction.set(key, (perFunction.get(key) ?? 0) + micros);
    const group = layer(frame);
    perLayer.set(group, (perLayer.get(group) ?? 0) + micros);
    total += micros;
    if (frame.functionName !== "(idle)") busy += micros;
  }
  // Total time: the samples with the function anywhere on their stack (once per sample).
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id).callFrame;
      if (frame.functionName.startsWith("(")) continue;
      seen.add(`${frame.functionName || "(anonymous)"} ${frame.url.split("/").pop()}`.trim());
    }
    for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
  }
  const per = (micros) => (micros / queries).toFixed(2);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(2)} s busy in the isolate, ${queries} queries: ${per(busy)} µs busy per query`);
  console.log("\n| layer | µs/query | share of busy |\n|---|---:|---:|");
  for (const [group, micros] of [...perLayer].sort((a, b) => b[1] - a[1])) {
    if (group === "(idle)") continue;
    console.log(`| ${group} | ${per(micros)} | ${((100 * micros) / busy).toFixed(1)}% |`);
  }
  console.log(`\n| function (self time) | µs/query | share of busy |\n|---|---:|---:|`);
  for (const [name, micros] of [...perFunction].sort((a, b) => b[1] - a[1]).filter(([name]) => !name.startsWith("(idle)")).slice(0, top)) {
    console.log(`| \`${name.replace(/\|/g, "\\|")}\` | ${per(micros)} | ${((100 * micros) / busy).toFixed(1)}% |`);
  }
  console.log(`\n| function (total time, callees included) | µs/query | share of busy |\n|---|---:|---:|`);
  for (const [name, micros] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| \`${name.replace(/\|/g, "\\|")}\` | ${per(micros)} | ${((100 * micros) / busy).toFixed(1)}% |`);
  }
}

// Each busy sample goes to one step of the request, by what is on its stack (the first rule
// that matches, outermost frames first for the request's own steps), else by its leaf.
const STEPS = [
  ["reading the request (method, URL, headers, request.cf)", /^(__wbg_(method|url|headers|get|cf|stringify|requestHead|edgeLocation)_|URL$|fromBase64Url|atob$)/],
  ["building the response (headers, body, Response)", /^(__wbg_(respond|append|set|new_with_opt_buffer_source_and_init|new_277c|new_with_length|new_13de|set_headers|set_status)|Response$|Headers$|edgedns::worker::runtime::to_response|edgedns::worker::to_worker_response)/],
  ["the promise and microtask of an async export", /^(__wbg_queueMicrotask|__wbg_new_typed|__wbg_resolve|__wbg_then|js_sys::futures::(queue|task)|wasm_bindgen_futures::(queue|task))/],
];
function breakdown(file, queries) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const steps = new Map();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const leaf = nodes.get(profile.samples[i]).callFrame;
    if (leaf.functionName === "(idle)") continue;
    busy += delta;
    const stack = [];
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) stack.push(nodes.get(id).callFrame.functionName);
    // The async machinery counts only where the sample is in it, not in the handler it runs:
    // the frames from the leaf up to the first of the Worker's own.
    const own = stack.findIndex((name) => name.startsWith("edgedns::"));
    const near = own < 0 ? stack : stack.slice(0, own);
    let step = STEPS.find(([name, pattern]) => (name.startsWith("the promise") ? near : stack).some((frame) => pattern.test(frame)))?.[0];
    if (!step) {
      const group = layer(leaf);
      if (group.startsWith("wasm")) step = "wasm: the DNS work (parse, answer, encode) and the adapter";
      else if (group.startsWith("JS: the Worker")) step = "JS: the module's own code (wasm-bindgen glue, worker-build's entry, the no-op Worker)";
      else step = "the runtime (native, built-ins, GC, its own JS)";
    }
    steps.set(step, (steps.get(step) ?? 0) + delta);
  }
  return { busy: busy / queries, steps: new Map([...steps].map(([step, micros]) => [step, micros / queries])) };
}

if (mode === "record") await record(args[0], Number(args[1]), args[2]);
else if (mode === "summary") summary(args[0], Number(args[1]), Number(args[2] ?? 30));
else if (mode === "breakdown") {
  // breakdown LABEL=FILE:QUERIES ...: a table, one column per profile, µs per query.
  const columns = args.map((arg) => {
    const [label, rest] = arg.split("=");
    const at = rest.lastIndexOf(":");
    return [label, breakdown(rest.slice(0, at), Number(rest.slice(at + 1)))];
  });
  const names = [...STEPS.map(([name]) => name), "wasm: the DNS work (parse, answer, encode) and the adapter",
    "JS: the module's own code (wasm-bindgen glue, worker-build's entry, the no-op Worker)", "the runtime (native, built-ins, GC, its own JS)"];
  console.log(`| step, profiled µs per query | ${columns.map(([label]) => label).join(" | ")} |`);
  console.log(`|---|${columns.map(() => "---:").join("|")}|`);
  for (const name of names) console.log(`| ${name} | ${columns.map(([, b]) => (b.steps.get(name) ?? 0).toFixed(1)).join(" | ")} |`);
  console.log(`| **busy in the isolate** | ${columns.map(([, b]) => `**${b.busy.toFixed(1)}**`).join(" | ")} |`);
}
else {
  console.error("usage: profile-workerd.mjs record HOST:PORT SECONDS OUT | summary OUT QUERIES [TOP]");
  process.exit(2);
}
