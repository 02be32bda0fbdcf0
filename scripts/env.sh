# shellcheck shell=bash
# Common environment for the edgedns build/dev/test scripts. Source it, don't run it.
# Everything can be overridden from the caller's environment.

EDGEDNS_ROOT="${EDGEDNS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export EDGEDNS_ROOT

# cargo-installed tools (worker-build, wasm-bindgen) live here.
CARGO_BIN_DIR="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$CARGO_BIN_DIR:"*) ;; *) export PATH="$CARGO_BIN_DIR:$PATH" ;; esac

NODE_BIN="$EDGEDNS_ROOT/node_modules/.bin"
WRANGLER="${WRANGLER:-$NODE_BIN/wrangler}"

# worker-build would otherwise download these from a host that is not reachable offline.
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$CARGO_BIN_DIR/wasm-bindgen}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$NODE_BIN/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$NODE_BIN/esbuild}"

# wrangler / miniflare: never prompt, never phone home, never hang on the network.
export WRANGLER_SEND_METRICS="${WRANGLER_SEND_METRICS:-false}"
export WRANGLER_SEND_ERROR_REPORTS="${WRANGLER_SEND_ERROR_REPORTS:-false}"
export CLOUDFLARE_CF_FETCH_ENABLED="${CLOUDFLARE_CF_FETCH_ENABLED:-false}"
# `npx foo` must use node_modules or fail; never download a package silently.
export npm_config_yes="${npm_config_yes:-false}"
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false

# Where the local test/dev helpers keep pid files, logs, certs and state.
RUN_DIR="${RUN_DIR:-$EDGEDNS_ROOT/.run}"

if [[ -t 2 ]]; then
  log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
else
  log() { printf '==> %s\n' "$*" >&2; }
fi
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Version of a package in Cargo.lock (first match), e.g. lock_version wasm-bindgen
lock_version() {
  awk -v n="$1" '
    $0 == "[[package]]" { name = "" }
    $1 == "name" && $3 == "\"" n "\"" { name = n }
    name == n && $1 == "version" { gsub(/"/, "", $3); print $3; exit }
  ' "$EDGEDNS_ROOT/Cargo.lock"
}
