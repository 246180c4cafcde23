#!/usr/bin/env bash
# tests/integration/test_demo.sh -- the README's demo works as written: pdns on mxguard with
# the demo zone, the guard refusing the panel's apex PATCH in reject mode and fixing it in fix
# mode, the audit log verifying (pdns-config/demo.sh --check asserts each step).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init
out=$(MXG_DEMO_KEEP=1 MXG_DEMO_DNS_PORT=5305 MXG_DEMO_API_PORT=8092 MXG_BUILD_DIR=$(dirname "$MXGUARD") \
    TMPDIR=$IT_WORK bash "$IT_REPO_ROOT/pdns-config/demo.sh" --check --no-install 2>&1) || true
printf '%s\n' "$out" | sed 's/^/    /'
assert_contains "$out" "demo check: ok" "the demo's checks pass"
assert_not_contains "$out" "UNEXPECTED" "no step of the demo went wrong"
it_finish
