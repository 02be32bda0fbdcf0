#!/usr/bin/env bash
# Development DNSSEC keys: for every zone whose routes file says `dnssec = true`, a key in the
# dotenv FILE (`DNSSEC_KEY_<ZONE>="..."`, what wrangler dev reads as a secret), made only when
# the file has none for the zone, so a local DS stays the same from run to run.
#   scripts/dnssec-keys.sh FILE CLI ZONE_DIR...
# CLI: the edgedns binary. These keys are for local use: at the edge, make keys with
# `edgedns dnssec keygen` and put them with `wrangler secret put` (README, "DNSSEC").
set -euo pipefail
source "$(dirname "$0")/env.sh"

file="$1" cli="$2"
shift 2
# A fresh checkout has no .run/ yet (scripts/test.sh writes the test keys there).
mkdir -p "$(dirname "$file")"
for dir in "$@"; do
  for routes in "$dir"/*.routes.toml; do
    [[ -f "$routes" ]] || continue
    grep -Eq '^[[:space:]]*dnssec[[:space:]]*=[[:space:]]*true' "$routes" || continue
    zone="$(basename "$routes" .routes.toml)"
    "$cli" dnssec keygen "$zone" --dev-vars "$file" --if-missing >/dev/null
  done
done
[[ ! -f "$file" ]] || chmod 600 "$file"
