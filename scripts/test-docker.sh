#!/usr/bin/env bash
# End-to-end test of the connector's Docker image (npm run test:docker).
#
#   1. make sure a Docker engine runs (installs docker.io and starts dockerd when root)
#   2. scripts/docker-base.sh: local stand-in for node:24-bookworm-slim if it cannot be pulled
#   3. docker build -t source-hotjar:test .   (+ static checks on the image config)
#   4. start the local Hotjar stand-in on the host (node .devtools/devtools/sandbox.js ...)
#   5. run spec / check / discover / read / read --state in the container with --network host,
#      inputs mounted read-only as files of a foreign uid, both the Airbyte way (/airbyte/in)
#      and the Meltano tap-airbyte way (/tmp/meltano)
#
# Never passes silently: if Docker is unavailable it prints "DOCKER TEST NOT RUN: ..." and exits 1.
# Env: IMAGE_TAG (default source-hotjar:test), RUN_TIMEOUT seconds per container run (300),
#      KEEP_TMP=1 keeps the work dir, DOCKER_BUILD_NETWORK (e.g. host) for docker build.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
IMAGE_TAG="${IMAGE_TAG:-source-hotjar:test}"
RUN_TIMEOUT="${RUN_TIMEOUT:-300}"
FOREIGN_UID=4242

PASSED=0
FAILED=0
TIMES=()
SANDBOX_PID=""
RUN_LABEL="source-hotjar-test=$$"
WORK=""
DOCKER_OK=0
phase_start=$SECONDS
phase_name=""

say()    { printf '%s\n' "$*"; }
notrun() { printf '\n*** DOCKER TEST NOT RUN: %s ***\n\n' "$*" >&2; exit 1; }
pass()   { PASSED=$((PASSED + 1)); say "  ok    $*"; }
fail()   { FAILED=$((FAILED + 1)); say "  FAIL  $*" >&2; }
phase()  {
  if [[ -n "$phase_name" ]]; then TIMES+=("$phase_name $((SECONDS - phase_start))s"); fi
  phase_name="$1"; phase_start=$SECONDS
  [[ -n "$1" ]] && say "== $1"
  return 0
}

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SANDBOX_PID" ]] && kill -0 "$SANDBOX_PID" 2>/dev/null; then
    kill -TERM "$SANDBOX_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$SANDBOX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SANDBOX_PID" 2>/dev/null
    wait "$SANDBOX_PID" 2>/dev/null
  fi
  if [[ $DOCKER_OK == 1 ]]; then
    docker ps -aq --filter "label=$RUN_LABEL" | xargs -r docker rm -f >/dev/null 2>&1
  fi
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if [[ "${KEEP_TMP:-0}" == 1 || $rc -ne 0 ]]; then
      say "work dir kept: $WORK" >&2
    else
      rm -rf "$WORK"
    fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 1. docker engine
phase "docker engine"
if ! docker info >/dev/null 2>&1; then
  if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    [[ "$(id -u)" == 0 ]] || notrun "no docker CLI/engine installed and not root (cannot apt-get install docker.io)"
    command -v apt-get >/dev/null 2>&1 || notrun "no docker installed and no apt-get to install docker.io"
    say "installing docker.io via apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q docker.io >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q docker.io >/dev/null 2>&1; } \
      || notrun "apt-get install docker.io failed"
  fi
  if ! docker info >/dev/null 2>&1; then
    [[ "$(id -u)" == 0 ]] || notrun "docker engine not reachable ('docker info' fails) and not root to start dockerd"
    say "starting dockerd in the background (log: /tmp/dockerd.log)"
    nohup dockerd >/tmp/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 \
      || notrun "dockerd did not come up within 60s: $(tail -n 3 /tmp/dockerd.log 2>/dev/null | tr '\n' ' ')"
  fi
fi
DOCKER_OK=1
say "docker server $(docker version --format '{{.Server.Version}}')"

# ---------------------------------------------------------------- 2. base image
phase "base image"
bash "$ROOT/scripts/docker-base.sh" || notrun "could not provide base image node:24-bookworm-slim (scripts/docker-base.sh failed)"

# ---------------------------------------------------------------- 3. build
phase "docker build"
build_args=()
loopback_proxy=0
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY ALL_PROXY http_proxy https_proxy no_proxy all_proxy; do
  if [[ -n "${!v:-}" ]]; then
    build_args+=(--build-arg "$v")
    [[ "$v" != [Nn][Oo]_* && "${!v}" =~ (localhost|127\.[0-9.]+|\[::1\]) ]] && loopback_proxy=1
  fi
done
net="${DOCKER_BUILD_NETWORK:-}"
[[ -z "$net" && $loopback_proxy == 1 ]] && net=host   # a proxy on the host's loopback needs host networking
[[ -n "$net" ]] && build_args+=(--network "$net")
WORK="$(mktemp -d /tmp/source-hotjar-docker-test.XXXXXX)"
if ! docker build --force-rm ${build_args[@]+"${build_args[@]}"} -t "$IMAGE_TAG" "$ROOT" >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log" >&2
  fail "docker build -t $IMAGE_TAG . (log: $WORK/build.log)"
  say "docker: $PASSED passed, $FAILED failed"
  exit 1
fi
pass "docker build -t $IMAGE_TAG ."
size=$(docker image inspect -f '{{.Size}}' "$IMAGE_TAG")
say "  image size: $((size / 1000000)) MB ($size bytes)"

# ---- static checks on the image
meta_value() { sed -n "s/^[[:space:]]*$1:[[:space:]]*[\"']\{0,1\}\([^\"'#[:space:]]*\).*/\1/p" "$ROOT/metadata.yaml" | head -n1; }
META_TAG="$(meta_value dockerImageTag)"
META_REPO="$(meta_value dockerRepository)"
docker image inspect -f '{{json .Config}}' "$IMAGE_TAG" >"$WORK/image-config.json"
if out=$(node - "$WORK/image-config.json" "$META_TAG" "$META_REPO" <<'EOF' 2>&1
const fs = require('node:fs');
const [file, tag, repo] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(file, 'utf8'));
const env = Object.fromEntries((c.Env || []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
const labels = c.Labels || {};
const problems = [];
if (c.User !== 'airbyte') problems.push(`Config.User is ${JSON.stringify(c.User)}, want "airbyte"`);
if (!tag) problems.push('metadata.yaml has no dockerImageTag');
if (labels['io.airbyte.version'] !== tag) problems.push(`label io.airbyte.version=${labels['io.airbyte.version']} but metadata.yaml dockerImageTag=${tag}`);
if (labels['io.airbyte.name'] !== repo) problems.push(`label io.airbyte.name=${labels['io.airbyte.name']} but metadata.yaml dockerRepository=${repo}`);
const ep = (c.Entrypoint || []).join(' ');
if (!ep) problems.push('no ENTRYPOINT');
if (env.AIRBYTE_ENTRYPOINT !== ep) problems.push(`AIRBYTE_ENTRYPOINT=${JSON.stringify(env.AIRBYTE_ENTRYPOINT)} != ENTRYPOINT ${JSON.stringify(ep)}`);
if (env.NODE_ENV !== 'production') problems.push(`NODE_ENV=${env.NODE_ENV}`);
if (problems.length) { console.log(problems.join('; ')); process.exit(1); }
console.log(`User=${c.User} version=${tag} name=${repo} ENTRYPOINT="${ep}"`);
EOF
); then pass "image config: $out"; else fail "image config: $out"; fi

drun() { # docker run, labelled so that cleanup removes leftovers of this test run; stdin closed
  timeout "$RUN_TIMEOUT" docker run --rm --label "$RUN_LABEL" "$@" </dev/null
}
if out=$(drun --entrypoint id "$IMAGE_TAG" 2>&1) && [[ "$out" == "uid=1000(airbyte) gid=1000(airbyte)"* ]]; then
  pass "runs as $out"
else
  fail "docker run --entrypoint id: $out (want uid=1000(airbyte) gid=1000(airbyte))"
fi
if out=$(drun --entrypoint /bin/sh "$IMAGE_TAG" -c '
    set -e
    touch /airbyte/.w /airbyte/integration_code/.w && rm /airbyte/.w /airbyte/integration_code/.w
    for d in typescript vitest eslint @types/node @eslint; do
      if [ -e "node_modules/$d" ]; then echo "dev dependency present: $d"; exit 1; fi
    done
    if [ -e /airbyte/integration_code/src ] || [ -e /airbyte/integration_code/test ]; then echo "sources in image"; exit 1; fi
    echo "cwd=$(pwd)"' 2>&1); then
  pass "/airbyte writable by airbyte, no dev deps or sources in image ($out)"
else
  fail "image contents: $out"
fi

# ---------------------------------------------------------------- 4. sandbox on the host
phase "sandbox"
if [[ ! -f "$ROOT/.devtools/devtools/sandbox.js" ]] || [[ -n "$(find "$ROOT/devtools" -newer "$ROOT/.devtools/devtools/sandbox.js" -print -quit)" ]]; then
  say "building the stand-in on the host (npm run build:devtools)"
  (cd "$ROOT" && npm run build:devtools >"$WORK/host-build.log" 2>&1) || { tail -n 30 "$WORK/host-build.log" >&2; fail "host npm run build:devtools"; say "docker: $PASSED passed, $FAILED failed"; exit 1; }
fi
node "$ROOT/.devtools/devtools/sandbox.js" --host 127.0.0.1 --port 0 --config-out "$WORK/config.json" >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
ready=0
for _ in $(seq 1 300); do
  if [[ -s "$WORK/config.json" ]] && node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$WORK/config.json" 2>/dev/null; then ready=1; break; fi
  kill -0 "$SANDBOX_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ $ready != 1 ]]; then
  tail -n 30 "$WORK/sandbox.log" >&2
  fail "sandbox did not write $WORK/config.json within 30s"
  say "docker: $PASSED passed, $FAILED failed"
  exit 1
fi
pass "sandbox up (pid $SANDBOX_PID), config written"

# inputs as a Airbyte/Meltano would hand them over: files of another uid, 0644, read-only mount
IN="$WORK/in"
mkdir -p "$IN" "$WORK/out"
cp "$WORK/config.json" "$IN/config.json"
cp "$ROOT/integration_tests/configured_catalog.json" "$IN/catalog.json"
chmod 0755 "$IN"; chmod 0644 "$IN"/*.json
own_inputs() {
  if [[ "$(id -u)" == 0 ]]; then chown -R "$FOREIGN_UID:$FOREIGN_UID" "$IN"; fi
}
own_inputs
[[ "$(id -u)" == 0 ]] || say "  (not root: input files keep uid $(id -u) instead of $FOREIGN_UID)"

# ---------------------------------------------------------------- 5. connector runs
phase "connector runs"
# node assertion helper: kind file [extra]
cat >"$WORK/assert.cjs" <<'EOF'
const fs = require('node:fs');
const [kind, file, extra] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');
const lines = text.split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();
const msgs = [];
const bad = [];
lines.forEach((l, i) => {
  try {
    const m = JSON.parse(l);
    if (m === null || typeof m !== 'object' || typeof m.type !== 'string') throw new Error('no string "type"');
    msgs.push(m);
  } catch (e) { bad.push(`line ${i + 1}: ${e.message}: ${l.slice(0, 120)}`); }
});
const die = (s) => { console.log(s); process.exit(1); };
if (bad.length) die(`${bad.length} non-JSON stdout line(s): ${bad.slice(0, 3).join(' | ')}`);
const of = (t) => msgs.filter((m) => m.type === t);
switch (kind) {
  case 'spec': {
    const s = of('SPEC');
    if (s.length !== 1 || !s[0].spec || !s[0].spec.connectionSpecification) die(`want 1 SPEC with connectionSpecification, got ${s.length}`);
    console.log(`SPEC (${Object.keys(s[0].spec.connectionSpecification.properties || {}).length} properties)`);
    break;
  }
  case 'check': {
    const s = of('CONNECTION_STATUS');
    const st = s[0] && s[0].connectionStatus && s[0].connectionStatus.status;
    if (s.length !== 1 || st !== 'SUCCEEDED') die(`want CONNECTION_STATUS SUCCEEDED, got ${JSON.stringify(s.map((m) => m.connectionStatus))}`);
    console.log('CONNECTION_STATUS SUCCEEDED');
    break;
  }
  case 'discover': {
    const c = of('CATALOG');
    const names = c.flatMap((m) => ((m.catalog && m.catalog.streams) || []).map((x) => x.name));
    if (c.length !== 1 || !names.includes('survey_responses')) die(`want CATALOG with survey_responses, got ${JSON.stringify(names)}`);
    console.log(`CATALOG streams=${names.join(',')}`);
    break;
  }
  case 'read': {
    const r = of('RECORD').length, s = of('STATE');
    if (r < 1 || s.length < 1) die(`want >=1 RECORD and >=1 STATE, got ${r} RECORD, ${s.length} STATE`);
    if (extra) { // latest state per stream (a single GLOBAL/LEGACY state replaces everything)
      const latest = new Map();
      for (const { state } of s) {
        const d = state && state.stream && state.stream.stream_descriptor;
        latest.set(state && state.type === 'STREAM' && d ? `${d.namespace || ''}.${d.name}` : '*', state);
      }
      fs.writeFileSync(extra, JSON.stringify([...latest.values()]) + '\n');
    }
    console.log(`${r} RECORD, ${s.length} STATE`);
    break;
  }
  case 'read-incremental': {
    const r = of('RECORD').length, s = of('STATE').length, first = Number(extra);
    if (!(r < first)) die(`incremental read returned ${r} RECORD, not fewer than the first read's ${first}`);
    if (s < 1) die('incremental read emitted no STATE');
    console.log(`${r} RECORD (< ${first}), ${s} STATE`);
    break;
  }
  default: die(`unknown kind ${kind}`);
}
EOF

# connector MODE NAME KIND EXTRA -- ARGS...: run the image, check exit code and output
connector() {
  local mount="$1" name="$2" kind="$3" extra="$4"; shift 5
  local out="$WORK/out/$name.jsonl" err="$WORK/out/$name.err" res rc=0
  local t0=$SECONDS
  drun --network host -v "$IN:$mount:ro" "$IMAGE_TAG" "$@" >"$out" 2>"$err" || rc=$?
  if [[ $rc != 0 ]]; then
    fail "$name: exit $rc ($*) stderr: $(tail -n 5 "$err" | tr '\n' ' ')"
    return 1
  fi
  if res=$(node "$WORK/assert.cjs" "$kind" "$out" "$extra" 2>&1); then
    pass "$name: $res [$((SECONDS - t0))s]"
    LAST_RESULT="$res"
  else
    fail "$name: $res"
    return 1
  fi
}

run_suite() { # $1 = label, $2 = mount point of the inputs in the container
  local label="$1" m="$2" first
  say "-- $label: inputs at $m (read-only, uid $FOREIGN_UID, 0644)"
  connector "$m" "$label-spec" spec "" -- spec || true
  connector "$m" "$label-check" check "" -- check --config "$m/config.json" || true
  connector "$m" "$label-discover" discover "" -- discover --config "$m/config.json" || true
  rm -f "$IN/state.json"
  if connector "$m" "$label-read" read "$WORK/state.json" -- read --config "$m/config.json" --catalog "$m/catalog.json"; then
    first="${LAST_RESULT%% RECORD*}"
    cp "$WORK/state.json" "$IN/state.json"; chmod 0644 "$IN/state.json"; own_inputs
    connector "$m" "$label-read-state" read-incremental "$first" -- \
      read --config "$m/config.json" --catalog "$m/catalog.json" --state "$m/state.json" || true
  else
    fail "$label-read-state: skipped (first read failed)"
  fi
}
LAST_RESULT=""
run_suite airbyte /airbyte/in
run_suite meltano /tmp/meltano

phase ""
say "phases: $(IFS=,; echo "${TIMES[*]}" | sed "s/,/, /g")"
say "docker: $PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
