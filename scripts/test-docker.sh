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
#   6. the way an acceptance suite's containers reach it (no --network host): a user-defined Docker
#      network; the stand-in runs in a container of the base image (the checkout's .devtools build and
#      node_modules mounted read-only) with HTTPS, a test CA made at start and the network aliases
#      hotjar-api and hotjar-storage; integration_tests/sample_config_docker.json
#      (base_url https://hotjar-api:18443/api) must be what the stand-in says; the connector container
#      gets the CA mounted read-only and NODE_EXTRA_CA_CERTS, and must pass check and read (the records
#      of integration_tests/expected_records.jsonl, one STATE per survey); without the CA its check
#      must fail on the certificate
#
# Never passes silently: if Docker is unavailable it prints "DOCKER TEST NOT RUN: ..." and exits 1.
# Env: IMAGE_TAG (default source-hotjar:test), RUN_TIMEOUT seconds per container run (300),
#      KEEP_TMP=1 keeps the work dir, DOCKER_BUILD_NETWORK (e.g. host) for docker build,
#      STANDIN_IMAGE (default node:24-bookworm-slim) runs the stand-in in phase 6.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
IMAGE_TAG="${IMAGE_TAG:-source-hotjar:test}"
RUN_TIMEOUT="${RUN_TIMEOUT:-300}"
STANDIN_IMAGE="${STANDIN_IMAGE:-node:24-bookworm-slim}"
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
    docker network ls -q --filter "label=$RUN_LABEL" | xargs -r docker network rm >/dev/null 2>&1
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
SHEBANG="$(head -n1 "$ROOT/src/airbyte/main.ts")"
if out=$(node - "$WORK/image-config.json" "$META_TAG" "$META_REPO" "$SHEBANG" <<'EOF' 2>&1
const fs = require('node:fs');
const [file, tag, repo, shebang] = process.argv.slice(2);
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
// The image starts the connector as the bin does: the shebang's environment and Node flags.
const words = shebang.replace(/^#!\/usr\/bin\/env -S /, '').split(/\s+/);
const nodeAt = words.indexOf('node');
for (const w of words.slice(0, nodeAt)) {
  const [k, v] = w.split('=');
  if (env[k] !== v) problems.push(`the bin's shebang sets ${w}, the image has ${k}=${env[k]}`);
}
const flags = words.slice(nodeAt + 1).join(' ');
if (!ep.includes(` ${flags} `)) problems.push(`the bin's shebang gives node ${flags}, the ENTRYPOINT is ${ep}`);
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
node "$ROOT/.devtools/devtools/sandbox.js" --host 127.0.0.1 --port 0 --api-port 0 --config-out "$WORK/config.json" >"$WORK/sandbox.log" 2>&1 &
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
  case 'check-refused': { // check must fail on the stand-in's certificate (no CA given)
    const s = of('CONNECTION_STATUS');
    const cs = s[0] && s[0].connectionStatus;
    if (s.length !== 1 || cs.status !== 'FAILED' || !/TLS certificate could not be verified/.test(cs.message || '')) {
      die(`want CONNECTION_STATUS FAILED on the TLS certificate, got ${JSON.stringify(s.map((m) => m.connectionStatus))}`);
    }
    console.log(`CONNECTION_STATUS FAILED: ${cs.message.slice(0, 90)}...`);
    break;
  }
  case 'read-expected': { // the records of expected_records.jsonl in order, one STATE after each survey
    const expected = fs.readFileSync(extra, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const recs = of('RECORD').map((m) => m.record);
    const got = recs.map((r) => JSON.stringify({ stream: r.stream, data: r.data }));
    const want = expected.map((r) => JSON.stringify({ stream: r.stream, data: r.data }));
    if (got.length !== want.length) die(`${got.length} RECORD, want ${want.length} (${extra})`);
    const diff = got.findIndex((g, i) => g !== want[i]);
    if (diff >= 0) die(`RECORD ${diff + 1} differs from ${extra}: ${got[diff].slice(0, 160)} vs ${want[diff].slice(0, 160)}`);
    const surveys = [...new Set(recs.map((r) => r.data.survey_id))];
    // walk the stream: every STATE closes one survey, whose records all came just before it
    let since = [], seen = [], problems = [];
    for (const m of msgs) {
      if (m.type === 'RECORD') since.push(m.record.data.survey_id);
      if (m.type !== 'STATE') continue;
      const keys = Object.keys((m.state.stream && m.state.stream.stream_state && m.state.stream.stream_state.surveys) || {});
      const added = keys.filter((k) => !seen.includes(k));
      if (added.length !== 1 || since.some((id) => id !== added[0])) problems.push(`STATE adding ${JSON.stringify(added)} after records of ${JSON.stringify([...new Set(since)])}`);
      if (m.sourceStats && m.sourceStats.recordCount !== since.length) problems.push(`STATE recordCount ${m.sourceStats.recordCount} != ${since.length}`);
      seen = keys; since = [];
    }
    if (since.length) problems.push(`${since.length} RECORD after the last STATE`);
    if (JSON.stringify([...seen].sort()) !== JSON.stringify([...surveys].sort())) problems.push(`final state covers ${JSON.stringify(seen)}, records come from ${JSON.stringify(surveys)}`);
    if (problems.length) die(problems.join('; '));
    console.log(`${got.length} RECORD = ${extra.replace(/.*\//, '')}, surveys ${surveys.join('+')}, ${of('STATE').length} STATE (one per survey)`);
    break;
  }
  default: die(`unknown kind ${kind}`);
}
EOF

# assert_run NAME KIND EXTRA -- DOCKER-RUN-ARGS...: run a container, check exit code and output
assert_run() {
  local name="$1" kind="$2" extra="$3"; shift 4
  local out="$WORK/out/$name.jsonl" err="$WORK/out/$name.err" res rc=0
  local t0=$SECONDS
  drun "$@" >"$out" 2>"$err" || rc=$?
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

# connector MOUNT NAME KIND EXTRA -- ARGS...: run the image on the host network, inputs at MOUNT
connector() {
  local mount="$1" name="$2" kind="$3" extra="$4"; shift 5
  assert_run "$name" "$kind" "$extra" -- --network host -v "$IN:$mount:ro" "$IMAGE_TAG" "$@"
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

# ---------------------------------------------------------------- 6. stand-in and connector on a Docker network
phase "docker network"
# What an acceptance suite's containers see: no host network, the stand-in reached by network aliases
# over HTTPS, its test CA trusted through NODE_EXTRA_CA_CERTS. README "Docker" gives the same commands.
NET="source-hotjar-net-$$"
NOUT="$WORK/net-out"   # written by the stand-in container: config.json, hotjar-test-ca.pem
NIN="$WORK/net-in"     # the connector's inputs: sample_config_docker.json, the catalog
NCA="$WORK/net-ca"     # the CA, mounted on its own
mkdir -p "$NOUT" "$NIN" "$NCA"
net_phase() {
  local sid ready=0 res
  if ! docker network create --label "$RUN_LABEL" "$NET" >/dev/null; then fail "docker network create $NET"; return 1; fi
  docker image inspect "$STANDIN_IMAGE" >/dev/null 2>&1 || { fail "stand-in image $STANDIN_IMAGE missing"; return 1; }
  if ! sid=$(docker run -d --label "$RUN_LABEL" --name "source-hotjar-standin-$$" \
      --network "$NET" --network-alias hotjar-api --network-alias hotjar-storage \
      --user "$(id -u):$(id -g)" \
      -v "$ROOT/.devtools:/standin/.devtools:ro" -v "$ROOT/node_modules:/standin/node_modules:ro" \
      -v "$ROOT/package.json:/standin/package.json:ro" -v "$NOUT:/out" \
      "$STANDIN_IMAGE" node /standin/.devtools/devtools/sandbox.js \
      --host 0.0.0.0 --port 18443 --tls --api-name hotjar-api --storage-name hotjar-storage --storage-port 18444 \
      --ca-out /out/hotjar-test-ca.pem --config-out /out/config.json 2>"$WORK/standin-run.err"); then
    fail "docker run stand-in: $(tail -n 3 "$WORK/standin-run.err" | tr '\n' ' ')"
    return 1
  fi
  for _ in $(seq 1 600); do
    if [[ -s "$NOUT/config.json" ]] && node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$NOUT/config.json" 2>/dev/null; then ready=1; break; fi
    [[ "$(docker inspect -f '{{.State.Running}}' "$sid" 2>/dev/null)" == true ]] || break
    sleep 0.1
  done
  if [[ $ready != 1 ]]; then
    docker logs "$sid" 2>&1 | tail -n 20 >&2
    fail "stand-in container did not write config.json within 60s"
    return 1
  fi
  local ip; ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$sid")
  pass "stand-in container on network $NET ($ip, aliases hotjar-api, hotjar-storage; no published ports): $(docker logs "$sid" 2>&1 | head -n 1)"
  if res=$(node -e '
      const fs = require("fs");
      const [a, b] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
      if (JSON.stringify(a) !== JSON.stringify(b)) { console.log(`differs: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`); process.exit(1); }
      console.log(`base_url ${a.base_url}`);' "$NOUT/config.json" "$ROOT/integration_tests/sample_config_docker.json" 2>&1); then
    pass "integration_tests/sample_config_docker.json is the stand-in's config ($res)"
  else
    fail "integration_tests/sample_config_docker.json vs the stand-in's config: $res"
  fi
  if ! grep -q 'BEGIN CERTIFICATE' "$NOUT/hotjar-test-ca.pem" 2>/dev/null; then fail "no CA certificate in $NOUT/hotjar-test-ca.pem"; return 1; fi
  cp "$ROOT/integration_tests/sample_config_docker.json" "$NIN/config.json"
  cp "$ROOT/integration_tests/configured_catalog.json" "$NIN/catalog.json"
  cp "$NOUT/hotjar-test-ca.pem" "$NCA/hotjar-test-ca.pem"
  chmod 0755 "$NIN" "$NCA"; chmod 0644 "$NIN"/*.json "$NCA"/*.pem
  if [[ "$(id -u)" == 0 ]]; then chown -R "$FOREIGN_UID:$FOREIGN_UID" "$NIN" "$NCA"; fi

  local on_net=(--network "$NET" -v "$NIN:/airbyte/in:ro")
  local with_ca=(-v "$NCA:/airbyte/ca:ro" -e NODE_EXTRA_CA_CERTS=/airbyte/ca/hotjar-test-ca.pem)
  assert_run network-check check "" -- "${on_net[@]}" "${with_ca[@]}" "$IMAGE_TAG" check --config /airbyte/in/config.json || true
  assert_run network-read read-expected "$ROOT/integration_tests/expected_records.jsonl" -- "${on_net[@]}" "${with_ca[@]}" \
    "$IMAGE_TAG" read --config /airbyte/in/config.json --catalog /airbyte/in/catalog.json || true
  assert_run network-check-without-ca check-refused "" -- "${on_net[@]}" "$IMAGE_TAG" check --config /airbyte/in/config.json || true
  [[ "$(docker inspect -f '{{.State.Running}}' "$sid")" == true ]] || fail "stand-in container stopped during the runs: $(docker logs "$sid" 2>&1 | tail -n 3 | tr '\n' ' ')"
}
net_phase || true

phase ""
say "phases: $(IFS=,; echo "${TIMES[*]}" | sed "s/,/, /g")"
say "docker: $PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
