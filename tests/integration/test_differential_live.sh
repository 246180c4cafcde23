#!/usr/bin/env bash
# tests/integration/test_differential_live.sh -- the differential test with
# zones imported while `mxguard serve` and pdns run (re-import replaces a
# stale example.com; mxguard must trigger pdns_control rediscover itself).
# See test_differential.sh.
set -euo pipefail
export MXG_DIFF_IMPORT=live
export REF_PORT=${REF_PORT:-5313} CAND_PORT=${CAND_PORT:-5314}
exec bash "$(dirname "$0")/test_differential.sh" "$@"
