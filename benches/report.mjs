// Markdown tables for BENCHMARKS.md from the raw outputs of `make bench` (scripts/bench.sh):
//   node benches/report.mjs criterion target/criterion      criterion's estimates (mean)
//   node benches/report.mjs wasi FILE                        the wasm32-wasip1 loop's output
//   node benches/report.mjs workerd FILE.json...             /__bench answers (one per size)
//   node benches/report.mjs compare CRITERION_DIR WASI_FILE WORKERD_JSON SIZE
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { argv } from "node:process";

const CASES = ["plain", "nxdomain", "wildcard", "cname-chain", "weighted", "failover", "geolocation",
  "latency", "geoproximity", "cidr", "multivalue", "alias"];
// Each size compiled (one hash map of names), then held compact as an isolate holds a shard.
const SIZES = ["1k", "100k", "1M", "1k-compact", "100k-compact", "1M-compact"];
const format = (ns) => (ns === undefined ? "—" : Math.round(ns).toLocaleString("en-US"));

// results: Map size -> Map case -> ns
function criterion(dir) {
  const results = new Map();
  for (const size of SIZES) {
    const group = join(dir, `engine-${size}`);
    if (!existsSync(group)) continue;
    const cases = new Map();
    for (const id of readdirSync(group)) {
      const file = join(group, id, "new", "estimates.json");
      if (existsSync(file)) cases.set(id, JSON.parse(readFileSync(file, "utf8")).mean.point_estimate);
    }
    results.set(size, cases);
  }
  return results;
}

function wasi(file) {
  const results = new Map();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [size, id, ns] = line.trim().split(/\s+/);
    if (!SIZES.includes(size) || !Number.isFinite(Number(ns))) continue;
    if (!results.has(size)) results.set(size, new Map());
    results.get(size).set(id, Number(ns));
  }
  return results;
}

function workerd(files) {
  const results = new Map();
  for (const file of files) {
    if (!existsSync(file)) continue;
    let answer;
    try { answer = JSON.parse(readFileSync(file, "utf8")); } catch { continue; }
    results.set(answer.size, new Map(answer.cases.map((c) => [c.case, c.median_ns])));
  }
  return results;
}

function table(results) {
  const sizes = SIZES.filter((size) => results.has(size));
  const lines = [`| case | ${sizes.map((s) => `${s} records`).join(" | ")} |`, `|---|${sizes.map(() => "---:").join("|")}|`];
  for (const id of CASES) lines.push(`| ${id} | ${sizes.map((s) => format(results.get(s).get(id))).join(" | ")} |`);
  return lines.join("\n");
}

const [command, ...args] = argv.slice(2);
if (command === "criterion") console.log(table(criterion(args[0])));
else if (command === "wasi") console.log(table(wasi(args[0])));
else if (command === "workerd") {
  console.log(table(workerd(args)));
  const notes = args.filter(existsSync).map((file) => {
    try { return JSON.parse(readFileSync(file, "utf8")); } catch { return undefined; }
  }).filter(Boolean).map((a) => `${a.size}: zone compiled in the isolate in ${a.compile_ms} ms, empty timer round trip ${a.empty_tick_ms} ms`);
  if (notes.length) console.log(`\n(${notes.join("; ")}.)`);
}
else if (command === "compare") {
  const [dir, wasiFile, workerdFile, size] = args;
  const columns = [
    ["native (criterion)", criterion(dir).get(size)],
    ["wasm, V8 under Node WASI", wasi(wasiFile).get(size)],
    ["wasm in workerd (/__bench)", workerd([workerdFile]).get(size)],
  ];
  console.log(`| case (${size} records), ns/query | ${columns.map(([label]) => label).join(" | ")} | workerd / native |`);
  console.log(`|---|${columns.map(() => "---:").join("|")}|---:|`);
  for (const id of CASES) {
    const values = columns.map(([, results]) => results?.get(id));
    const ratio = values[0] && values[2] ? `${(values[2] / values[0]).toFixed(1)}×` : "—";
    console.log(`| ${id} | ${values.map(format).join(" | ")} | ${ratio} |`);
  }
} else {
  console.error("usage: report.mjs criterion DIR | wasi FILE | workerd FILE... | compare DIR WASI JSON SIZE");
  process.exit(2);
}
