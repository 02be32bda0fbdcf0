#!/usr/bin/env bash
# Full test run (what `make test` and CI do, after setup + worker build):
#  0. lints: cargo fmt --check, cargo clippy -D warnings (native, and wasm32 for the Worker)
#  1. native tests: cargo test --release for lib, bins, doctests and tests/*.rs except e2e
#  2. end-to-end: fresh test stack (scripts/stack.sh) with zones/ + tests/zones published, then
#     cargo test --release --test e2e with
#       EDGEDNS_HTTP=http://127.0.0.1:18787  (wrangler dev, HTTP/1.1)
#       EDGEDNS_H2=127.0.0.1:18443           (nginx TLS + HTTP/2 front)
#       EDGEDNS_CLI=<target>/release/edgedns EDGEDNS_STATE=<abs path of .run/test-state>
#     and a resolver-mode stack (EDGEDNS_RESOLVER_HTTP=http://127.0.0.1:18788, EDGEDNS_RESOLVER_H2,
#     EDGEDNS_RESOLVER_STATE) forwarding to BIND behind dnsdist (scripts/upstream.sh)
# The stack is always stopped. Exit status is non-zero if any step failed.
#   TEST_SKIP_LINT=1 / TEST_SKIP_NATIVE=1 / TEST_SKIP_E2E=1 skip a part; extra args go to the test binaries
#   (e.g. scripts/test.sh --nocapture).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$EDGEDNS_ROOT"

export STACK_NAME=test
export STACK_HTTP_PORT="${STACK_HTTP_PORT:-18787}"
export STACK_H2_PORT="${STACK_H2_PORT:-18443}"
export STACK_STATE="$(realpath -m "${STACK_STATE:-$RUN_DIR/test-state}")"
# The e2e tests query both the sample zones (zones/: example.com ...) and the test zones, and
# their publishing test republishes "zones tests/zones" (+ its own), so start with the same set.
export STACK_ZONES="${STACK_ZONES-zones tests/zones}"
# A fresh admin token per run, for the admin API tests.
export STACK_ADMIN_TOKEN="${STACK_ADMIN_TOKEN:-test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
export EDGEDNS_ADMIN_TOKEN="$STACK_ADMIN_TOKEN"
# wrangler's "log" level is the one that shows the Worker's console.log lines (at "info" only
# its errors): the tests read the Worker's log for what it must not say.
export STACK_LOG_LEVEL="${STACK_LOG_LEVEL:-log}"

failed=()

# ---------------------------------------------------------------- lints (src/lib.rs denies panicking
# code in the library; this is what enforces it), native and for the Worker's wasm32 build
if [[ "${TEST_SKIP_LINT:-0}" != 1 ]]; then
  log "cargo fmt --check"
  cargo fmt --check || failed+=("cargo fmt --check")
  log "cargo clippy --all-targets -- -D warnings (native)"
  cargo clippy --all-targets -- -D warnings || failed+=("clippy (native)")
  log "cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings"
  cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings || failed+=("clippy (wasm32)")
fi

# ---------------------------------------------------------------- native tests
if [[ "${TEST_SKIP_NATIVE:-0}" != 1 ]]; then
  test_args=(--lib --bins)
  for f in tests/*.rs; do
    [[ -e "$f" ]] || continue
    t="$(basename "$f" .rs)"
    [[ "$t" == e2e ]] && continue
    test_args+=(--test "$t")
  done
  log "cargo test --release ${test_args[*]}"
  cargo test --release "${test_args[@]}" -- "$@" || failed+=("native tests")
  # Doctests cannot be combined with the target selection above.
  log "cargo test --release --doc"
  cargo test --release --doc -- "$@" || failed+=("doctests")
fi

# ---------------------------------------------------------------- end-to-end
if [[ "${TEST_SKIP_E2E:-0}" != 1 ]]; then
  if [[ ! -f tests/e2e.rs ]]; then
    log "tests/e2e.rs missing: no end-to-end tests"
    failed+=("e2e (tests/e2e.rs missing)")
  else
    # Compile everything before starting the stack (and fail early on errors). The CLI used to
    # publish the test zones is the `edgedns` binary cargo builds for the integration tests:
    # a separate `cargo build/run --bin edgedns` would resolve different dependency features
    # (dev-dependencies) and rebuild the crate back and forth.
    log "building the e2e test binary and the CLI"
    if cli="$(cargo test --release --test e2e --no-run --message-format=json-render-diagnostics \
              | node -e '
                  let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
                    for (const l of s.split("\n")) {
                      if (!l.startsWith("{")) continue;
                      const m = JSON.parse(l);
                      if (m.reason === "compiler-artifact" && m.executable &&
                          m.target.name === "edgedns" && m.target.kind.includes("bin"))
                        console.log(m.executable);
                    }
                  });')" && [[ -x "$cli" ]]; then
      export EDGEDNS_CLI="$cli"
      # Fresh DNSSEC keys for the zones that opt in, passed to both stacks as secrets; the
      # tests read the DS from them (tests/e2e/dnssec.rs).
      export EDGEDNS_DNSSEC_VARS="$(realpath -m "$RUN_DIR/test-dnssec.vars")"
      rm -f "$EDGEDNS_DNSSEC_VARS"
      scripts/dnssec-keys.sh "$EDGEDNS_DNSSEC_VARS" "$cli" zones tests/zones
      export STACK_SECRETS="$EDGEDNS_DNSSEC_VARS"
      # The resolver-mode stack: the same Worker and zones with upstreams configured, in front
      # of the loopback upstream (scripts/upstream.sh): the first one dead (every miss fails
      # over), the second hanging (every miss hedges past it after 300 ms), the third dnsdist.
      resolver_stack() {
        STACK_NAME=resolver STACK_HTTP_PORT="$RESOLVER_HTTP_PORT" STACK_H2_PORT="$RESOLVER_H2_PORT" \
        STACK_STATE="$RESOLVER_STATE" STACK_INSPECTOR_PORT=19230 STACK_CONFIG=wrangler.e2e.toml \
        STACK_VARS="UPSTREAMS:http://127.0.0.1:18956/dns-query,http://127.0.0.1:18957/dns-query,http://127.0.0.1:18954/dns-query UPSTREAM_TIMEOUT_MS:1500 HEDGE_AFTER_MS:300" \
          scripts/stack.sh "$1"
      }
      # Its configuration is wrangler.toml with a query limit a test burst can pass in a
      # few seconds (tests/e2e/rate_limits.rs): 300 per 10 s per client network.
      sed -e '/^name = "QUERY_RATE_LIMITER"/,/^simple/ s/^simple = .*/simple = { limit = 300, period = 10 }/' \
        wrangler.toml >wrangler.e2e.toml
      grep -q 'limit = 300, period = 10' wrangler.e2e.toml || { log "wrangler.e2e.toml: the query limit was not rewritten"; exit 1; }
      # And two firewall profiles (tests/e2e/resolver.rs), as an operator writes them: a TOML
      # table in [vars], which the Worker reads as JSON. No `default`: /dns-query keeps every list.
      cat >>wrangler.e2e.toml <<'TOML'

[vars.PROFILES.strict]
id = "p7Xk2Qm9LwR4tZ8vN3bH6yJ1"
lists = ["profiled.txt"]
deny = ["denied.upstream.test"]
block = "null"

[vars.PROFILES.open]
id = "open-c5Vd8Rk1"
lists = []
safe_search = ["bing"]
TOML
      RESOLVER_HTTP_PORT="${RESOLVER_HTTP_PORT:-18788}"
      RESOLVER_H2_PORT="${RESOLVER_H2_PORT:-18444}"
      RESOLVER_STATE="$(realpath -m "$RUN_DIR/resolver-state")"
      stop_all() { scripts/stack.sh stop; resolver_stack stop; scripts/upstream.sh stop; }
      trap stop_all EXIT
      trap 'exit 130' INT
      trap 'exit 143' TERM
      if STACK_INSPECTOR_PORT=19229 scripts/stack.sh start && scripts/upstream.sh start && resolver_stack start; then
        export EDGEDNS_HTTP="http://127.0.0.1:$STACK_HTTP_PORT"
        export EDGEDNS_H2="127.0.0.1:$STACK_H2_PORT"
        export EDGEDNS_STATE="$STACK_STATE"
        export EDGEDNS_RESOLVER_HTTP="http://127.0.0.1:$RESOLVER_HTTP_PORT"
        export EDGEDNS_RESOLVER_H2="127.0.0.1:$RESOLVER_H2_PORT"
        export EDGEDNS_RESOLVER_STATE="$RESOLVER_STATE"
        export EDGEDNS_RESOLVER_CERT="$RUN_DIR/front-resolver/cert.pem"
        log "cargo test --release --test e2e  (EDGEDNS_HTTP=$EDGEDNS_HTTP EDGEDNS_H2=$EDGEDNS_H2 EDGEDNS_CLI=$EDGEDNS_CLI EDGEDNS_STATE=$EDGEDNS_STATE EDGEDNS_RESOLVER_HTTP=$EDGEDNS_RESOLVER_HTTP)"
        if ! cargo test --release --test e2e -- "$@"; then
          failed+=("e2e tests")
          log "last lines of the wrangler logs (.run/test-wrangler.log, .run/resolver-wrangler.log):"
          tail -n 30 "$RUN_DIR/test-wrangler.log" >&2 || true
          tail -n 30 "$RUN_DIR/resolver-wrangler.log" >&2 || true
        fi
      else
        failed+=("e2e stack start")
      fi
      stop_all
      trap - EXIT
    else
      failed+=("e2e build")
    fi
  fi
fi

if ((${#failed[@]})); then
  printf '\nFAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
printf '\nall tests passed\n' >&2
