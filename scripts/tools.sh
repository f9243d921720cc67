#!/usr/bin/env bash
# Installs the real command-line tools gatelog's tests drive (the npm CLI,
# and the other package managers whose lockfiles gatelog reads), at the
# versions pinned by tools/package.json and tools/package-lock.json, into
# tools/node_modules (never globally). Tests find them in
# tools/node_modules/.bin. Needs Node.js >= 20.17 with npm; installs
# Debian's `nodejs npm` when run as root and they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Node.js and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    echo "error: the tests drive real package-manager CLIs and need Node.js >= 20.17 with npm;" >&2
    echo "       install them with: sudo apt-get install nodejs npm" >&2
    exit 2
  fi
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "error: Node.js $(node --version) is too old; the pinned tools need >= 20.17" >&2
  exit 2
fi

stamp=tools/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ tools/package-lock.json -nt "$stamp" ]; then
  npm ci --prefix tools --no-audit --no-fund --loglevel=error >/dev/null
fi
[ -z "${GATELOG_PREREQS_VERBOSE:-}" ] ||
  echo "==> tools: node $(node --version), npm $(tools/node_modules/.bin/npm --version) in tools/node_modules"
