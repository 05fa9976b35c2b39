#!/bin/sh
# Runs the official MCP conformance suite (server scenarios) against this example and compares
# the outcome with baseline.json. Exits non-zero on any unexpected failure or stale baseline entry.
#
#   sh examples/conformance/run-conformance.sh            # active suite
#   SUITE=all sh examples/conformance/run-conformance.sh  # active + pending scenarios
#
# Environment: CONFORMANCE_PREFIX (where node@22 and the suite are installed; default a temp
# dir reused between runs), SKIP_BUILD=1 (use the existing dist/ of the workspace packages).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CONFORMANCE_VERSION=0.1.16
NODE22_VERSION=22
SUITE=${SUITE:-active}
PREFIX=${CONFORMANCE_PREFIX:-${TMPDIR:-/tmp}/mcp-harden-conformance-$CONFORMANCE_VERSION}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcp-harden-conformance-run.XXXXXX")
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# 1. Node 22 and the suite, installed once into PREFIX (the suite needs Node 22; the repo runs on 20).
NODE22="$PREFIX/node_modules/node/bin/node"
SUITE_JS="$PREFIX/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [ ! -x "$NODE22" ] || [ ! -f "$SUITE_JS" ] || ! "$NODE22" --version 2>/dev/null | grep -q "^v$NODE22_VERSION\."; then
  echo "installing node@$NODE22_VERSION and @modelcontextprotocol/conformance@$CONFORMANCE_VERSION into $PREFIX"
  mkdir -p "$PREFIX"
  [ -f "$PREFIX/package.json" ] || echo '{"private":true}' > "$PREFIX/package.json"
  (cd "$PREFIX" && npm install --no-audit --no-fund --loglevel=error "node@$NODE22_VERSION" "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION")
fi
"$NODE22" --version

# 2. Build the example (and, unless SKIP_BUILD=1, the workspace packages it uses).
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  (cd "$ROOT" && pnpm exec turbo run build --filter=@mcp-harden/example-conformance... --output-logs=errors-only)
elif [ ! -f "$HERE/dist/main.js" ]; then
  (cd "$HERE" && pnpm build)
fi

# 3. Start the example on a free loopback port and wait for it.
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
(cd "$HERE" && PORT=$PORT exec node dist/main.js >"$WORK/server.log" 2>"$WORK/server.err") &
SERVER_PID=$!
i=0
until node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "http://localhost:$PORT/health"; do
  i=$((i + 1))
  if [ "$i" -gt 100 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the example server did not start:" >&2
    cat "$WORK/server.log" "$WORK/server.err" >&2
    exit 1
  fi
  sleep 0.1
done

# 4. Baseline (JSON, with reasons) -> the suite's YAML expected-failures file.
node -e '
  const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const names = Object.keys(b.server ?? {});
  process.stdout.write(names.length ? "server:\n" + names.map((n) => "  - " + n).join("\n") + "\n" : "server: []\n");
' "$HERE/baseline.json" >"$WORK/baseline.yml"

# 5. Run the suite: it exits 1 on a failure not in the baseline, or a baseline entry that passes.
set +e
"$NODE22" "$SUITE_JS" server --url "http://localhost:$PORT/mcp" --suite "$SUITE" \
  --expected-failures "$WORK/baseline.yml" -o "$WORK/results" >"$WORK/suite.log" 2>&1
STATUS=$?
cat "$WORK/suite.log"
set -e
if [ "$STATUS" -ne 0 ]; then
  echo "conformance: unexpected result (exit $STATUS); server stderr tail:" >&2
  tail -n 40 "$WORK/server.err" >&2 || true
  exit "$STATUS"
fi
# Belt and braces: the summary must show no failure outside the baseline.
if ! grep -q "^Total: .* 0 failed" "$WORK/suite.log"; then
  node -e '
    const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const allowed = new Set(Object.keys(b.server ?? {}));
    const log = require("fs").readFileSync(process.argv[2], "utf8");
    const bad = [...log.matchAll(/^✗ ([\w-]+):/gm)].map((m) => m[1]).filter((n) => !allowed.has(n));
    if (bad.length) { console.error("unexpected failures: " + bad.join(", ")); process.exit(1); }
  ' "$HERE/baseline.json" "$WORK/suite.log"
fi
echo "conformance: OK ($SUITE suite, baseline $(node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).server).length)' "$HERE/baseline.json") entries)"
