// Runs the engine benchmark compiled to wasm on V8 (the engine workerd uses), with the
// repository as its working directory:
// `node benches/run-wasi.mjs FILE.wasm [ARGS...]` (the arguments go to the benchmark).
// A wasm32-wasip1 build runs under Node's WASI; a wasm32-unknown-unknown build (the Worker's
// target, which has no system interface) gets the `bench` import module instead: a clock,
// the arguments as zone sizes, and lines to standard output and error (benches/engine.rs `host`).
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, cwd, stdout, stderr } from "node:process";

const module = await WebAssembly.compile(await readFile(argv[2]));
const args = argv.slice(3);
if (WebAssembly.Module.imports(module).some((entry) => entry.module === "wasi_snapshot_preview1")) {
  const wasi = new WASI({ version: "preview1", args: ["engine", ...args], preopens: { ".": cwd() } });
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  wasi.start(instance);
} else {
  let memory;
  const bench = {
    now_ms: () => performance.now(),
    size: (index) => Number(args[index] ?? 0) || 0,
    write_line: (stream, text, length) => {
      const line = Buffer.from(memory.buffer, text, length).toString("utf8") + "\n";
      (stream === 2 ? stderr : stdout).write(line);
    },
  };
  // Any other import (none is called by the loop) fails loudly if it ever is.
  const imports = {};
  for (const entry of WebAssembly.Module.imports(module)) {
    imports[entry.module] ??= entry.module === "bench" ? bench : {};
    if (entry.module !== "bench" && entry.kind === "function") {
      imports[entry.module][entry.name] = () => {
        throw new Error(`the benchmark called the import ${entry.module}.${entry.name}`);
      };
    }
  }
  const instance = await WebAssembly.instantiate(module, imports);
  memory = instance.exports.memory;
  instance.exports.main(0, 0);
}
