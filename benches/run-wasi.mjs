// Runs a benchmark compiled for wasm32-wasip1 under Node's WASI on V8 (the engine workerd
// uses), with the repository as its working directory:
// `node benches/run-wasi.mjs FILE.wasm [ARGS...]` (the arguments go to the benchmark).
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, cwd } from "node:process";

const wasi = new WASI({ version: "preview1", args: ["engine", ...argv.slice(3)], preopens: { ".": cwd() } });
const module = await WebAssembly.compile(await readFile(argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.start(instance);
