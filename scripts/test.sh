#!/bin/sh
# The whole test suite: installs dependencies, builds with warnings as
# errors, runs unit and integration tests, and ends with one summary line.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ ! -d ../shared/testdata/imds ]; then
        echo "test: ../shared/testdata is missing (the real IMDS documents the tests verify)" >&2
        exit 1
fi
dir=build-test
[ -d "$dir" ] || meson setup "$dir" -Dwerror=true -Dtests=enabled >/dev/null
ninja -C "$dir"
rc=0
meson test -C "$dir" --print-errorlogs --num-processes 2 || rc=$?
python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
res = [json.loads(l)['result'] for l in open(sys.argv[1]) if l.strip()]
ok = sum(r in ('OK', 'EXPECTEDFAIL') for r in res)
skip = sum(r == 'SKIP' for r in res)
print('%d passed, %d failed, %d skipped' % (ok, len(res) - ok - skip, skip))
PY
exit $rc
