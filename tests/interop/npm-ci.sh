#!/bin/sh
# Installs the pinned npm packages of tests/interop (package-lock.json) into
# tests/interop/node_modules, unless they are there already. Needs npm and
# the npm registry (only the first time). Used by the interop tests.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if cmp -s "$here/package-lock.json" "$here/node_modules/.hostenc-lock.json" 2>/dev/null; then
        exit 0
fi
cd "$here"
npm ci --no-audit --no-fund >&2
cp package-lock.json node_modules/.hostenc-lock.json
