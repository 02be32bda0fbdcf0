# edgedns: build / dev / test entry points. Logic lives in scripts/*.sh.
#
#   make setup        install missing tools (apt, rustup target, worker-build, wasm-bindgen, npm ci)
#   make worker       build/index.js + build/index_bg.wasm (worker-build --release, offline)
#   make zones-local  publish zones/ into local KV (.wrangler/state)
#   make dev          setup + worker + zones-local, then nginx :8443 (HTTP/2) -> wrangler dev :8787
#   make test         setup + worker + trap-worker, native tests, then e2e against a throwaway local stack
#   make trap-worker  .run/trap-build: the Worker with routes that trap on purpose (recovery test only)
#   make deploy ENV=staging   edgedns deploy: check, diff, confirm, publish zones/, wrangler deploy
#   make bench        every benchmark (engine, wasm, workerd, bundle, DoH vs BIND) -> BENCHMARKS.md
#   make front / stop-front   only the HTTP/2 front for the dev server (8443 -> 8787)
#   make stack-start / stack-stop / stop   the e2e stack by hand (18787 / 18443)
#   make clean        build/ and .run/      make distclean: also target/, node_modules/, .wrangler/

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := worker
.DELETE_ON_ERROR:

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
CARGO_BIN_DIR := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin

# Tools worker-build would otherwise download (unreachable offline).
export PATH := $(CARGO_BIN_DIR):$(PATH)
export WASM_BINDGEN_BIN ?= $(CARGO_BIN_DIR)/wasm-bindgen
export WASM_OPT_BIN ?= $(ROOT)/node_modules/.bin/wasm-opt
export ESBUILD_BIN ?= $(ROOT)/node_modules/.bin/esbuild
# wrangler: no prompts, no telemetry, no request.cf download.
export WRANGLER_SEND_METRICS ?= false
export WRANGLER_SEND_ERROR_REPORTS ?= false
export CLOUDFLARE_CF_FETCH_ENABLED ?= false
export npm_config_yes ?= false

WRANGLER := $(ROOT)/node_modules/.bin/wrangler
DEV_HTTP_PORT ?= 8787
DEV_H2_PORT ?= 8443

# Everything that can change the worker bundle.
# (src/bin/ is the native CLI: not part of the wasm build.)
WORKER_INPUTS := Cargo.toml Cargo.lock $(wildcard build.rs) scripts/object-entry.mjs \
  $(shell find src -type f -not -path 'src/bin/*' 2>/dev/null)

.PHONY: setup worker trap-worker zones-local dev test deploy bench front stop-front stack-start stack-stop stop clean distclean

setup:
	@scripts/setup.sh

# `make worker` is a no-op when build/ is newer than every input; `make -B worker` forces it.
worker: build/index.js

build/index.js: $(WORKER_INPUTS)
	@for t in "$$WASM_BINDGEN_BIN" "$$WASM_OPT_BIN" "$$ESBUILD_BIN"; do \
	  [[ -x "$$t" ]] || { echo "error: $$t missing: run 'make setup'" >&2; exit 1; }; done
	@command -v worker-build >/dev/null || { echo "error: worker-build missing: run 'make setup'" >&2; exit 1; }
	worker-build --release
	@# An object as the default export, worker-build's recovery kept (see the script).
	node scripts/object-entry.mjs build/index.js
	@touch $@

zones-local:
	cargo run --release --bin edgedns -- publish --local zones

dev: setup worker zones-local
	@DEV_HTTP_PORT=$(DEV_HTTP_PORT) DEV_H2_PORT=$(DEV_H2_PORT) scripts/dev.sh

test: setup worker trap-worker
	@scripts/test.sh

# The Worker with routes that trap on purpose, for the recovery test only (never deployed).
trap-worker: .run/trap-build/index.js

.run/trap-build/index.js: $(WORKER_INPUTS)
	worker-build --release -d .run/trap-build --features test-trap
	node scripts/object-entry.mjs .run/trap-build/index.js
	@touch $@

# A release to one wrangler environment ([env.NAME] in wrangler.toml; README "Deploying"):
# `edgedns deploy` checks zones/, shows the diff against that environment's KV, asks, publishes,
# then runs `wrangler deploy --env NAME`, stopping at the first step that fails.
# DEPLOY_FLAGS: --yes (no question, for CI), --probe probes.toml --url https://... (check the answers after).
ENV ?=
DEPLOY_FLAGS ?=
ZONES ?= zones
deploy: setup
	@[[ -n "$(ENV)" ]] || { echo "error: name the environment: make deploy ENV=staging (or ENV=production)" >&2; exit 1; }
	cargo run --release --bin edgedns -- deploy --env $(ENV) $(DEPLOY_FLAGS) $(ZONES)

# Every benchmark, written to BENCHMARKS.md: the engine natively (criterion) and in wasm (V8 under
# WASI, and inside workerd), the bundle size, and DoH end to end against wrangler dev, workerd and
# BIND (scripts/bench-e2e.sh), and cold start versus zone size. Prints numbers, asserts nothing.
# BENCH_PARTS=... runs a subset.
bench: setup worker
	@scripts/bench.sh

front:
	@scripts/front.sh start $(DEV_H2_PORT) $(DEV_HTTP_PORT) .run/front-dev

stop-front:
	@scripts/front.sh stop $(DEV_H2_PORT) $(DEV_HTTP_PORT) .run/front-dev

stack-start: setup worker
	@scripts/stack.sh start

stack-stop:
	@scripts/stack.sh stop

stop: stack-stop stop-front

clean: stop
	rm -rf build .run

distclean: clean
	rm -rf target node_modules .wrangler
