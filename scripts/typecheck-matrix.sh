#!/usr/bin/env bash
# Type-checks types/ (the public API's type tests, against the packages' built dist/*.d.ts) with every
# supported TypeScript: 5.5, 5.9, 6 (root devDependencies installed under npm aliases) and the
# repository's own TypeScript 7. Fails if any compiler reports an error, including an unused
# `// @ts-expect-error`. Needs `pnpm run build` first (the `check` script runs it before this).
#
# Usage: scripts/typecheck-matrix.sh [compiler-package ...]   e.g. scripts/typecheck-matrix.sh typescript-5.5
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

compilers=("$@")
if [ "${#compilers[@]}" -eq 0 ]; then compilers=(typescript-5.5 typescript-5.9 typescript-6 typescript); fi

if [ ! -f packages/core/dist/index.d.ts ]; then
  echo "typecheck-matrix: packages/core/dist/index.d.ts is missing; run \`pnpm run build\` first" >&2
  exit 1
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-tsmatrix.XXXXXX")"
trap 'rm -rf "$out"' EXIT

# Two compilers at a time: each is mostly one busy core.
pids=()
run_one() {
  local pkg="$1" tsc="node_modules/$1/bin/tsc" started
  if [ ! -x "$tsc" ]; then
    echo "not installed: $pkg (run pnpm install)" >"$out/$pkg.log"
    return 1
  fi
  started=$(date +%s%N)
  if "$tsc" -p types/tsconfig.json --pretty false >"$out/$pkg.log" 2>&1; then status=ok; else status=FAILED; fi
  echo "$status $("$tsc" --version) $(((($(date +%s%N) - started) / 1000000)))ms" >"$out/$pkg.result"
  [ "$status" = ok ]
}
failed=0
for pkg in "${compilers[@]}"; do
  run_one "$pkg" &
  pids+=($!)
  if [ "${#pids[@]}" -ge 2 ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

for pkg in "${compilers[@]}"; do
  echo "typecheck-matrix: $pkg: $(cat "$out/$pkg.result" 2>/dev/null || echo FAILED)"
  if [ -s "$out/$pkg.log" ]; then sed 's/^/  /' "$out/$pkg.log"; fi
done
exit "$failed"
