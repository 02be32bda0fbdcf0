// What makes a wasm module big: `node benches/wasm-size.mjs FILE.wasm [TOP]`.
// Prints Markdown: bytes per section, then code bytes per crate, from the function names of
// the `name` section (build without `strip` to keep it; a stripped module shows one line).
// Rust symbols are grouped by their first path segment (`hickory_proto`, `core`, ...).
import { readFileSync } from "node:fs";
import { argv } from "node:process";

const bytes = readFileSync(argv[2]);
const top = Number(argv[3] ?? 15);
let offset = 8;

function leb() {
  let result = 0, shift = 0, byte;
  do {
    byte = bytes[offset++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return result;
}
function name() {
  const length = leb();
  const text = bytes.subarray(offset, offset + length).toString("utf8");
  offset += length;
  return text;
}

const sectionNames = ["custom", "type", "import", "function", "table", "memory", "global", "export",
  "start", "element", "code", "data", "data count", "tag"];
const sections = new Map();
let importedFunctions = 0;
const bodySizes = []; // by defined-function index
const functionNames = new Map(); // by function index (imports first)

while (offset < bytes.length) {
  const id = bytes[offset++];
  const size = leb();
  const end = offset + size;
  let label = sectionNames[id] ?? `section ${id}`;
  if (id === 0) {
    const start = offset;
    label = `custom "${name()}"`;
    if (label === 'custom "name"') {
      while (offset < end) {
        const sub = bytes[offset++];
        const subSize = leb();
        const subEnd = offset + subSize;
        if (sub === 1) {
          for (let count = leb(); count > 0; count--) {
            const index = leb();
            functionNames.set(index, name());
          }
        }
        offset = subEnd;
      }
    }
    offset = start;
  } else if (id === 2) {
    for (let count = leb(); count > 0; count--) {
      name(); name();
      const kind = bytes[offset++];
      if (kind === 0) { leb(); importedFunctions++; }
      else if (kind === 1) { offset++; const flags = leb(); leb(); if (flags & 1) leb(); }
      else if (kind === 2) { const flags = leb(); leb(); if (flags & 1) leb(); }
      else if (kind === 3) { offset += 2; }
      else if (kind === 4) { offset++; leb(); }
    }
  } else if (id === 10) {
    for (let count = leb(); count > 0; count--) {
      const bodySize = leb();
      bodySizes.push(bodySize);
      offset += bodySize;
    }
  }
  sections.set(label, (sections.get(label) ?? 0) + size);
  offset = end;
}

// `_ZN13hickory_proto2rr...E` (legacy mangling) or `hickory_proto::rr::...` (demangled).
function crateOf(symbol) {
  if (symbol === undefined) return "(no name)";
  let match = /^_ZN(\d+)/.exec(symbol);
  if (match) {
    // `<T as Trait>` impls start with `_$LT$`: the crate of T (its first `a..b` path).
    const segment = symbol.substr(3 + match[1].length, Number(match[1]));
    const path = /([A-Za-z_][A-Za-z0-9_]*)\.\./.exec(segment);
    return path ? path[1] : segment;
  }
  match = /^_R.*?C(?:s[0-9A-Za-z]*_)?(\d+)([A-Za-z_][A-Za-z0-9_]*)/.exec(symbol);
  if (match) return match[2].slice(0, Number(match[1]));
  // A trait impl for a primitive type: the trait's crate (`<u64 as itoa::Unsigned>`).
  match = /^<(?:&(?:mut )?)?(?:[a-z][a-z0-9]*|\[[^\]]*\])(?: as (?:&(?:mut )?)?([A-Za-z_][A-Za-z0-9_]*)|>)/.exec(symbol);
  if (match) return match[1] ?? "core";
  // Demangled: `hickory_proto[1a2b]::rr::...`, `<&mut serde_json[..]::de::... as ...>::...`.
  match = /^<*(?:&(?:mut )?)?([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::/.exec(symbol);
  if (match) return match[1];
  if (/^(__wbg|__wbindgen|wasm_bindgen|__externref|Closure\(|[A-Z][A-Za-z0-9]*(\(.*\))? -> )/.test(symbol)) return "wasm_bindgen";
  if (/^(dlmalloc|__rust|rust_|__rdl|__rg)/.test(symbol)) return "alloc (Rust runtime)";
  if (/^(mem|str)[a-z]*$|^__[a-z]+[0-9]$/.test(symbol)) return "compiler_builtins";
  return "(other)";
}

const total = bytes.length;
const percent = (value) => `${((100 * value) / total).toFixed(1)}%`;
console.log(`${total.toLocaleString("en-US")} bytes, ${bodySizes.length.toLocaleString("en-US")} functions` +
  (functionNames.size ? "" : " (no name section: stripped)"));
console.log("\n| section | bytes | share |\n|---|---:|---:|");
for (const [label, size] of [...sections].sort((a, b) => b[1] - a[1])) {
  console.log(`| ${label} | ${size.toLocaleString("en-US")} | ${percent(size)} |`);
}
if (functionNames.size) {
  const byCrate = new Map();
  bodySizes.forEach((size, index) => {
    const crate = crateOf(functionNames.get(importedFunctions + index));
    const entry = byCrate.get(crate) ?? { size: 0, count: 0 };
    entry.size += size;
    entry.count++;
    byCrate.set(crate, entry);
  });
  const sorted = [...byCrate].sort((a, b) => b[1].size - a[1].size);
  const code = bodySizes.reduce((sum, size) => sum + size, 0);
  const ofCode = (value) => `${((100 * value) / code).toFixed(1)}%`;
  console.log("\n| crate | functions | code bytes | share of the code |\n|---|---:|---:|---:|");
  for (const [crate, { size, count }] of sorted.slice(0, top)) {
    console.log(`| ${crate} | ${count} | ${size.toLocaleString("en-US")} | ${ofCode(size)} |`);
  }
  const rest = sorted.slice(top).reduce((sum, [, { size }]) => sum + size, 0);
  if (rest) console.log(`| (${sorted.length - top} more) | | ${rest.toLocaleString("en-US")} | ${ofCode(rest)} |`);
  const largest = bodySizes.map((size, index) => [size, functionNames.get(importedFunctions + index) ?? "(no name)"])
    .sort((a, b) => b[0] - a[0]).slice(0, 10);
  console.log("\n| largest functions | code bytes |\n|---|---:|");
  for (const [size, symbol] of largest) {
    const short = symbol.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]{16}\]/g, "").replaceAll("|", "\\|");
    console.log(`| \`${short.length > 110 ? short.slice(0, 107) + "..." : short}\` | ${size.toLocaleString("en-US")} |`);
  }
}
