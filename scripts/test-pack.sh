#!/usr/bin/env bash
# Production-install check, no Docker needed: `npm pack`, install the tarball into an empty folder with
# production dependencies only, then run `spec` and a read against the stand-in from the installed copy.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
sandbox_pid=""
cleanup() {
  [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

npm run build --silent
tarball=$(npm pack --silent --pack-destination "$tmp" | tail -n 1)
echo "packed $tarball ($(du -k "$tmp/$tarball" | cut -f1) KB)"
mkdir "$tmp/app"
cd "$tmp/app"
npm init -y >/dev/null
npm install --omit=dev --no-audit --no-fund --silent "$tmp/$tarball"
bin="$tmp/app/node_modules/.bin"
pkg="$tmp/app/node_modules/source-hotjar"
if [ -d "$tmp/app/node_modules/vitest" ] || [ -d "$tmp/app/node_modules/typescript" ]; then
  echo "FAIL: dev dependencies were installed" >&2; exit 1
fi

passed=0
check() { # name, node assertion over the JSON lines in $out
  if node -e "$2" "$out"; then echo "  ok    $1"; passed=$((passed + 1)); else echo "  FAIL  $1" >&2; exit 1; fi
}

out=$("$bin/source-hotjar" spec)
check "spec from the installed package" 'const m=JSON.parse(process.argv[1]); if(m.type!=="SPEC"||!m.spec.connectionSpecification.properties.password.airbyte_secret) process.exit(1)'

# The stand-in is a dev tool: it runs from the checkout, never from the installed package.
[ -f "$root/.devtools/devtools/sandbox.js" ] || (cd "$root" && npm run --silent build:devtools)
node "$root/.devtools/devtools/sandbox.js" --port 0 --api-port 0 --config-out "$tmp/config.json" 2>"$tmp/sandbox.log" &
sandbox_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/config.json" ] && break; sleep 0.1; done
[ -s "$tmp/config.json" ] || { echo "FAIL: the stand-in did not start" >&2; cat "$tmp/sandbox.log" >&2; exit 1; }

out=$("$bin/source-hotjar" check --config "$tmp/config.json")
check "check against the stand-in" 'const m=JSON.parse(process.argv[1]); if(m.connectionStatus.status!=="SUCCEEDED") process.exit(1)'

if [ -e "$pkg/devtools" ] || [ -e "$pkg/dist/sandbox" ] || grep -rq "HotjarSandbox" "$pkg/dist"; then
  echo "FAIL: the package ships stand-in code" >&2; exit 1
fi
passed=$((passed + 1)); echo "  ok    the package holds no stand-in code"
out=$("$bin/source-hotjar" read --config "$tmp/config.json" --catalog "$root/integration_tests/configured_catalog_full_refresh.json")
check "full read: 21 records and a STATE per survey" '
  const ms=process.argv[1].trim().split("\n").map(l=>JSON.parse(l));
  const n=ms.filter(m=>m.type==="RECORD").length, s=ms.filter(m=>m.type==="STATE").length;
  if(n!==21||s!==2){console.error({n,s}); process.exit(1)}'

if [ -x "$bin/tap-hotjar" ]; then
  out=$("$bin/tap-hotjar" --config "$tmp/config.json" --discover)
  check "tap-hotjar --discover" 'const c=JSON.parse(process.argv[1]); if(c.streams[0].tap_stream_id!=="survey_responses") process.exit(1)'
fi
echo "pack: $passed passed, 0 failed"
