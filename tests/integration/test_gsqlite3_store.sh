#!/usr/bin/env bash
# tests/integration/test_gsqlite3_store.sh -- an existing database written by pdns's own
# gsqlite3 backend is served by mxguard as it is: pdns+gsqlite3 and pdns+remote(mxguard) on a
# copy of the same file must answer every difftest query identically.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

REF_PORT=5331
CAND_PORT=5332
mapfile -t ZONES < <(it_default_zones)
zargs=()
for z in "${ZONES[@]}"; do zargs+=(--zone "$z"); done

# pdns creates and fills the database (pdnsutil create-zone, load-zone, rectify-zone).
pdns_start --kind gsqlite3 --port "$REF_PORT" "${zargs[@]}"
REF_DB="$PDNS_DIR/pdns.sqlite3"

# mxguard serves a copy of that very file.
mxg_write_config "$IT_WORK/mxguard"
cp "$REF_DB" "$MXG_STORE"
mxg_start
pdns_start --kind remote --port "$CAND_PORT" --name pdns-remote

zl=$(mxg zone list)
for z in "${ZONES[@]}"; do
    assert_contains "$zl" "${z%%=*}" "mxguard lists ${z%%=*} from the pdns database"
done
tables=$(sqlite3 "$MXG_STORE" .tables)
assert_contains "$tables" "mxg_names" "mxguard added its own tables beside pdns's"
assert_eq "$(sqlite3 "$REF_DB" 'SELECT count(*) FROM records')" \
    "$(sqlite3 "$MXG_STORE" 'SELECT count(*) FROM records')" "pdns's records are untouched"

dargs=()
for z in "${ZONES[@]}"; do dargs+=(--zone "$z"); done
if python3 "$IT_LIB_DIR/difftest.py" --ref-port "$REF_PORT" --cand-port "$CAND_PORT" \
    "${dargs[@]}" >"$IT_WORK/difftest.out" 2>&1; then
    it_pass "pdns+gsqlite3 and pdns+mxguard on the same database answer alike ($(tail -n 1 "$IT_WORK/difftest.out"))"
else
    it_fail "difftest found differences"
    tail -n 60 "$IT_WORK/difftest.out"
fi

it_finish
