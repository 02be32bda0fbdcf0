#!/usr/bin/env bash
# Idempotent toolchain setup for a fresh Debian 12 machine that has rustup + Node >= 20.3.
# Every step checks first and does nothing when the tool is already there at the right version.
#   scripts/setup.sh            everything
#   SKIP_APT=1 scripts/setup.sh skip the Debian packages (e.g. no root)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

WORKER_BUILD_DEFAULT=0.8.7

# ---------------------------------------------------------------- Debian packages
apt_setup() {
  [[ "${SKIP_APT:-0}" == 1 ]] && return 0
  local missing=()
  # command -> package
  command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
  command -v kdig    >/dev/null 2>&1 || missing+=(knot-dnsutils)
  command -v dig     >/dev/null 2>&1 || missing+=(bind9-dnsutils)
  command -v dnsperf >/dev/null 2>&1 || missing+=(dnsperf)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v curl    >/dev/null 2>&1 || missing+=(curl)
  command -v make    >/dev/null 2>&1 || missing+=(make)
  command -v setsid  >/dev/null 2>&1 || missing+=(util-linux)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # the browser tests: the page at /, the console (tests/e2e/console.rs)
  # the upstream resolver of the resolver-mode tests: BIND behind dnsdist's DoH listener
  command -v named   >/dev/null 2>&1 || [[ -x /usr/sbin/named ]] || missing+=(bind9)
  command -v dnsdist >/dev/null 2>&1 || [[ -x /usr/bin/dnsdist ]] || missing+=(dnsdist)
  # DNSSEC: the validators of tests/dnssec.rs (named + delv from above, dnssec-dsfromkey, dnspython)
  command -v delv >/dev/null 2>&1 || missing+=(bind9-dnsutils)
  command -v dnssec-dsfromkey >/dev/null 2>&1 || missing+=(bind9-utils)
  # (Debian's own Python, as the test runs it: /usr/bin/python3 without the user's site)
  PYTHONNOUSERSITE=1 /usr/bin/python3 -c "import dns.dnssec, cryptography" >/dev/null 2>&1 || missing+=(python3-dnspython python3-cryptography)
  ((${#missing[@]})) || return 0

  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install ${missing[*]}"
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
  # Installing the Debian package may start the system nginx on :80; the project never uses it
  # (scripts/front.sh runs its own instances), so stop the one we just caused to start.
  if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
      "${sudo[@]}" systemctl disable --now nginx >/dev/null 2>&1 || true
    elif [[ -s /run/nginx.pid ]] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
      "${sudo[@]}" /usr/sbin/nginx -s quit >/dev/null 2>&1 || true
    fi
  fi
  # Same for bind9's system named on :53: the benchmark runs its own (scripts/bench-e2e.sh).
  if [[ " ${missing[*]} " == *" bind9 "* ]] && command -v systemctl >/dev/null 2>&1 \
     && systemctl is-active --quiet named 2>/dev/null; then
    "${sudo[@]}" systemctl disable --now named >/dev/null 2>&1 || true
  fi
}

# ---------------------------------------------------------------- Rust
rust_setup() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup first"
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  # make test runs cargo fmt --check and cargo clippy
  local component
  for component in clippy rustfmt; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
  done

  # worker-build: same version as the `worker` crate in Cargo.lock.
  local wb_want
  wb_want="$(lock_version worker)"; wb_want="${wb_want:-$WORKER_BUILD_DEFAULT}"
  local wb_have=""
  if command -v worker-build >/dev/null 2>&1; then
    wb_have="$(worker-build --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true)"
  fi
  if [[ "$wb_have" != "$wb_want" ]]; then
    log "cargo install worker-build --version $wb_want (was: ${wb_have:-none}; ~10 min on 2 cores)"
    cargo install worker-build --version "$wb_want"
  fi

  # wasm-bindgen CLI must match the wasm-bindgen library in Cargo.lock exactly.
  local bg_want bg_have=""
  bg_want="$(lock_version wasm-bindgen)"
  [[ -n "$bg_want" ]] || die "wasm-bindgen not found in Cargo.lock (run cargo generate-lockfile?)"
  if [[ -x "$WASM_BINDGEN_BIN" ]]; then
    bg_have="$("$WASM_BINDGEN_BIN" --version 2>/dev/null | awk '{print $2}' || true)"
  fi
  if [[ "$bg_have" != "$bg_want" ]]; then
    [[ "$WASM_BINDGEN_BIN" == "$CARGO_BIN_DIR/wasm-bindgen" ]] \
      || die "WASM_BINDGEN_BIN=$WASM_BINDGEN_BIN is ${bg_have:-missing}, Cargo.lock wants $bg_want"
    log "cargo install wasm-bindgen-cli --version $bg_want (was: ${bg_have:-none}; ~4 min)"
    cargo install wasm-bindgen-cli --version "$bg_want"
  fi
}

# ---------------------------------------------------------------- Node packages
node_setup() {
  command -v node >/dev/null 2>&1 || die "node not found (need Node >= 20.3)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=3)?0:1)' \
    || die "Node $(node --version) is too old; wrangler 4.86 needs >= 20.3"
  local stamp=node_modules/.package-lock.json
  if [[ ! -f "$stamp" || package-lock.json -nt "$stamp" ]]; then
    log "npm ci"
    npm ci --no-audit --no-fund </dev/null
    touch "$stamp"
  fi
  local v
  v="$("$WRANGLER" --version 2>/dev/null | tail -n1)" || die "wrangler does not run"
  [[ -x "$WASM_OPT_BIN" && -x "$ESBUILD_BIN" ]] || die "wasm-opt/esbuild missing from node_modules"
  # The console's browser test drives chromium with it (tests/e2e/console.mjs).
  [[ -f node_modules/playwright-core/package.json ]] || die "playwright-core missing from node_modules: rm node_modules/.package-lock.json and run make setup"
}

apt_setup
rust_setup
node_setup
