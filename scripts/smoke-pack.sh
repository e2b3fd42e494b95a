#!/usr/bin/env bash
# The packed-tarball smoke test: packs every publishable package (`pnpm pack`, which rewrites the
# workspace: ranges as the registry will see them), installs the tarballs with npm into a fresh app
# in a temporary directory outside the workspace, type-checks and compiles that app
# (scripts/smoke-app) with the TypeScript installed there, and runs it with plain `node`. Then the
# README examples, the way a user gets them: every example `pnpm test:readme` checks (README.md,
# packages/*/README.md, examples/*/README.md) is written into that app, type-checked against the
# installed tarballs with TypeScript 5.5, 5.9, 6 and 7 (one program per compiler, two compilers at a
# time) and run there with plain `node` (scripts/readme-examples/run.ts --packed; the npm packages
# the examples import are installed too).
# Needs `pnpm run build` first (the `check` script runs it before this). Needs only the npm registry
# (for the packages' own dependencies; npm's cache makes later runs fast). Bounded: every step has a
# timeout; the temporary directory is removed on exit.
#
# SMOKE_KEEP=1 keeps the temporary directory for a look after a failure.
set -euo pipefail
# The whole test is bounded (a hung install or a hung app fails it, it does not hold up CI).
if [ -z "${SMOKE_PACK_BOUNDED:-}" ]; then
  SMOKE_PACK_BOUNDED=1 exec timeout --kill-after=5 "${SMOKE_PACK_TIMEOUT_S:-360}" bash "$0" "$@"
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$(date +%s)
log() { echo "smoke-pack: $* ($(($(date +%s) - started))s)"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-smoke.XXXXXX")"
case "$work" in "$root"/*) echo "smoke-pack: the temp dir $work is inside the workspace" >&2; exit 1 ;; esac
cleanup() { if [ "${SMOKE_KEEP:-}" = 1 ]; then echo "smoke-pack: kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
# Each step runs in the background under its own timeout and is waited for, so that a TERM from the
# overall budget (or Ctrl-C) stops the step and still removes the temporary directory.
child=''
interrupted() {
  echo "smoke-pack: interrupted (time budget: ${SMOKE_PACK_TIMEOUT_S:-360}s)" >&2
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
  exit 124
}
trap interrupted TERM INT
step() { # seconds command...
  local limit="$1"
  shift
  timeout --kill-after=5 "$limit" "$@" &
  child=$!
  wait "$child"
  child=''
}
mkdir -p "$work/tarballs" "$work/app"

# 1. Pack every publishable package of packages/*.
packages=()
for dir in packages/*/; do
  [ -f "${dir}package.json" ] || continue
  if [ "$(node -p "Boolean(require('./${dir}package.json').private)")" = true ]; then continue; fi
  if [ ! -f "${dir}dist/index.js" ]; then
    echo "smoke-pack: ${dir}dist/index.js is missing; run \`pnpm run build\` first" >&2
    exit 1
  fi
  step 60 pnpm --dir "$dir" pack --pack-destination "$work/tarballs" >/dev/null
  packages+=("$(node -p "require('./${dir}package.json').name")")
done
log "packed ${#packages[@]} packages: ${packages[*]}"

# The registry renders each README.md without the repository around it: relative links break there.
relative="$(grep -nE '\]\(([^)h#]|h[^t])[^)]*\)' packages/*/README.md || true)"
if [ -n "$relative" ]; then
  echo "smoke-pack: relative links in package READMEs break on the npm registry; make them absolute:" >&2
  echo "$relative" >&2
  exit 1
fi

# 2. A fresh app that depends on the tarballs (and on the TypeScript and @types/node of this repo), and
# on the npm packages the README examples import (pg, kysely, @opentelemetry/…): run.ts derives them
# from the examples' imports, each with the range the README's own package.json declares.
readme_dependencies="$(node --experimental-strip-types --no-warnings=ExperimentalWarning scripts/readme-examples/run.ts --dependencies)"
cp -R scripts/smoke-app/. "$work/app/"
rm -rf "$work/app/dist" "$work/app/node_modules"
WORK="$work" README_DEPENDENCIES="$readme_dependencies" node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const root = require("./package.json");
  const dependencies = JSON.parse(process.env.README_DEPENDENCIES);
  for (const file of fs.readdirSync(path.join(process.env.WORK, "tarballs")).sort()) {
    const tgz = path.join(process.env.WORK, "tarballs", file);
    const name = "@switchyard/" + file.replace(/^switchyard-/, "").replace(/-\d+\.\d+\.\d+.*\.tgz$/, "");
    dependencies[name] = "file:" + tgz;
  }
  const app = {
    name: "switchyard-smoke-app",
    private: true,
    type: "module",
    dependencies,
    devDependencies: {
      typescript: root.devDependencies.typescript,
      "@types/node": root.devDependencies["@types/node"],
      // @switchyard/conformance takes the test runner as a peer; install the one this repo uses.
      vitest: root.devDependencies.vitest,
    },
  };
  fs.writeFileSync(path.join(process.env.WORK, "app/package.json"), JSON.stringify(app, null, 2) + "\n");
'

cd "$work/app"
# No --legacy-peer-deps: npm must find the packed core inside every adapter's peer range.
step 90 npm install --no-audit --no-fund --prefer-offline --loglevel=error --no-package-lock >/dev/null
log "npm install done"

# One copy of core, shared by every adapter (core is a peer, never a dependency).
copies="$(find node_modules -path '*/@switchyard/core/package.json' | wc -l)"
if [ "$copies" != 1 ]; then
  echo "smoke-pack: $copies copies of @switchyard/core installed:" >&2
  find node_modules -path '*/@switchyard/core/package.json' >&2
  exit 1
fi
# Every import resolves from the installed tarballs, never from the workspace.
for name in "${packages[@]}"; do
  resolved="$(node --input-type=module -e "console.log(import.meta.resolve('$name'))")"
  case "$resolved" in "file://$work/app/node_modules/"*) ;; *) echo "smoke-pack: $name resolved to $resolved" >&2; exit 1 ;; esac
done

step 60 ./node_modules/.bin/tsc -p tsconfig.json
log "type-checked and compiled with $(./node_modules/.bin/tsc --version)"
step 30 node dist/main.js
log "smoke app ok"
# The `switchyard` command line core installs: on the PATH of npm scripts and npx.
help="$(timeout 30 npx --no-install switchyard --help)"
case "$help" in "Usage: switchyard <command>"*) ;; *) echo "smoke-pack: npx switchyard --help printed: $help" >&2; exit 1 ;; esac
log "npx switchyard --help ok"

# 3. The README examples in the app (type-checked with each supported TypeScript, then run there).
# TypeScript 5.5, 5.9 and 6 are the root's (devDependencies typescript-5.5, -5.9, -6, the same pins as
# scripts/typecheck-matrix.sh) run by path: a compiler resolves modules from the tsconfig's folder, so
# they check against the app's node_modules; TypeScript 7 is the app's own, installed from npm.
compilers=()
for pkg in typescript-5.5 typescript-5.9 typescript-6; do compilers+=(--tsc "$root/node_modules/$pkg/bin/tsc"); done
compilers+=(--tsc "$work/app/node_modules/.bin/tsc")
step 240 node --experimental-strip-types --no-warnings=ExperimentalWarning "$root/scripts/readme-examples/run.ts" \
  --packed "$work/app" "${compilers[@]}"
log "ok"
