#!/usr/bin/env bash
# Generated clients against the real binary (issue 14, item 7): the served /openapi.json generates a Python client
# (openapi-python-client) and a TypeScript one (openapi-typescript types + openapi-fetch calls); each runs a smoke test
# (org → project → dataset → run with a heuristic scorer → summary), then docs/pytest.md's example runs under pytest:
# once on good answers (must pass) and once on regressed ones (must fail, naming the gate).
# Usage: .ci/clients.sh [path/to/gavel]. GAVEL_SKIP_CLIENTS=1 skips it all. Pins: below and tests/clients/ts/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${GAVEL_SKIP_CLIENTS:-}" = "1" ]; then echo "generated clients: skipped (GAVEL_SKIP_CLIENTS=1)"; exit 0; fi
BIN=${1:-target/debug/gavel}
unset GAVEL_SKIP_CLIENTS # not a configuration key: the server would warn about it
ROOT=$PWD
DIR=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; [ -n "$PID" ] && wait "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT

echo "== generated clients: tools (venv .ci/.venv-clients, npm ci in tests/clients/ts)"
[ -x .ci/.venv-clients/bin/python ] || python3 -m venv .ci/.venv-clients
.ci/.venv-clients/bin/pip install --quiet --disable-pip-version-check \
  openapi-python-client==0.29.1 httpx==0.28.1 attrs==26.1.0 pytest==9.2.0
(cd tests/clients/ts && npm ci --no-audit --no-fund >/dev/null)

ADMIN=$("$BIN" init --data-dir "$DIR/data" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin_api_key"])')
GAVEL_LOG__LEVEL=warn "$BIN" serve --data-dir "$DIR/data" --bind 127.0.0.1:0 >"$DIR/out" 2>"$DIR/server.log" &
PID=$!
URL=
for _ in $(seq 1 100); do
  URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$DIR/out" | head -n1 || true)
  [ -n "$URL" ] && curl -sf "$URL/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "gavel did not start:"; cat "$DIR/server.log"; exit 1; }
curl -sf "$URL/openapi.json" >"$DIR/openapi.json"

echo "== python client (openapi-python-client)"
.ci/.venv-clients/bin/openapi-python-client generate --path "$DIR/openapi.json" --output-path "$DIR/py/gavel_client" \
  --meta none --config tests/clients/python/generator.yaml --fail-on-warning >/dev/null
PYTHONPATH="$DIR/py" GAVEL_URL=$URL GAVEL_ADMIN_KEY=$ADMIN .ci/.venv-clients/bin/python tests/clients/python/smoke.py

echo "== typescript client (openapi-typescript + openapi-fetch, type-checked by tsc)"
(
  cd tests/clients/ts
  rm -rf gen dist
  npx --no-install openapi-typescript "$DIR/openapi.json" -o gen/schema.d.ts >/dev/null
  npx --no-install tsc -p .
  GAVEL_URL=$URL GAVEL_ADMIN_KEY=$ADMIN node dist/smoke.js
)

echo "== docs/pytest.md's example under pytest"
# The guide shows the test file verbatim: if one changes without the other, this fails.
python3 - "$ROOT/docs/pytest.md" "$ROOT/tests/clients/python/test_gate_example.py" <<'PY'
import sys
doc, example = (open(p).read() for p in sys.argv[1:])
if example.strip() not in doc:
    sys.exit("docs/pytest.md no longer shows tests/clients/python/test_gate_example.py verbatim")
PY
KEY=$(curl -sf -X POST "$URL/v1/orgs" -H "X-API-Key: $ADMIN" -H 'content-type: application/json' \
  -d '{"name":"pytest-example"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin_api_key"])')
curl -sf -X POST "$URL/v1/projects" -H "X-API-Key: $KEY" -H 'content-type: application/json' -d '{"name":"web"}' >/dev/null
export GAVEL_URL=$URL GAVEL_API_KEY=$KEY GAVEL_PROJECT=web
.ci/.venv-clients/bin/python -m pytest -q -p no:cacheprovider tests/clients/python/test_gate_example.py
status=0
GAVEL_EVAL_DATASET=tests/clients/python/capitals_regressed.jsonl \
  .ci/.venv-clients/bin/python -m pytest -q -p no:cacheprovider tests/clients/python/test_gate_example.py \
  >"$DIR/regressed.txt" 2>&1 || status=$?
if [ "$status" != "1" ] || ! grep -q "gavel gate failed for run" "$DIR/regressed.txt"; then
  echo "a regressed dataset must fail the pytest example with the gate's reason (pytest exit $status):"
  cat "$DIR/regressed.txt"; exit 1
fi
echo "regressed answers fail the example test, as they should"
if grep -E 'panicked' "$DIR/server.log" >/dev/null; then echo "server log:"; grep panicked "$DIR/server.log"; exit 1; fi
echo "generated clients: all passed"
