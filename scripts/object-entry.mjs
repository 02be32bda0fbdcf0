// Gives the built Worker (build/index.js, worker-build's bundle) an object as its default export
// in place of worker-build's class: `make worker` runs it after worker-build.
//
// Why: worker-build exports a `WorkerEntrypoint` class wrapped in a Proxy, so that workerd
// constructs an entrypoint per request, and each construction makes a Proxy around the instance
// (its handler a fresh object of twelve traps) and another around the `fetch` it is asked for,
// whose `apply` trap is async. That is about 2 µs a request inside the isolate and, through the
// whole DoH path, the difference between 1.31x and 1.11x the no-op Worker's CPU per query
// (BENCHMARKS.md part 5). An object export is called as it is.
//
// What it keeps: worker-build's recovery after a wasm trap. The object's `fetch` calls the same
// `fetch` the class would, with the same `env` and `ctx`; a `WebAssembly.RuntimeError` marks the
// shared state critical as worker-build's wrapper does; and while the state is critical (after a
// trap or a Rust panic) a request goes through worker-build's own class, whose construction
// starts the wasm instance anew. `scheduled` always goes through the class (a few calls an hour).
//
//   node scripts/object-entry.mjs build/index.js
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
if (!file) throw new Error("usage: node scripts/object-entry.mjs build/index.js");
const source = readFileSync(file, "utf8");
const MARK = "/* edgedns: object entry */";
if (source.includes(MARK)) process.exit(0);

// esbuild ends the bundle with one `export{a as B,...,X as default};`.
const at = source.lastIndexOf("export{");
const exported = at < 0 ? null : source.slice(at).match(/^export\{([^}]*)\};?\s*$/);
const named = exported?.[1].split(",").map((item) => item.trim());
const entry = named?.find((item) => / as default$/.test(item));
if (!entry) throw new Error(`${file}: no final export statement with a default export (has worker-build's output changed?)`);
const classEntry = entry.replace(/ as default$/, "");
if (!/^[\w$]+$/.test(classEntry)) throw new Error(`${file}: unexpected default export ${entry}`);

const wrapper = `${MARK}
var edgednsEntry = ((Entrypoint) => {
  const state = globalThis.__worker_init_state;
  const { fetch } = Entrypoint.prototype;
  if (typeof fetch !== "function" || state === undefined) throw new Error("edgedns: worker-build's entrypoint is not the expected shape");
  return {
    fetch(request, env, ctx) {
      if (state.criticalError) return new Entrypoint(ctx, env).fetch(request);
      try {
        return fetch.call({ env, ctx }, request);
      } catch (error) {
        if (error instanceof WebAssembly.RuntimeError) {
          console.error("Critical", error);
          state.criticalError = true;
        }
        throw error;
      }
    },
    scheduled(controller, env, ctx) {
      return new Entrypoint(ctx, env).scheduled(controller);
    },
  };
})(${classEntry});
`;
const exports = named.map((item) => (item === entry ? "edgednsEntry as default" : item)).join(",");
writeFileSync(file, `${source.slice(0, at)}${wrapper}export{${exports}};\n`);
