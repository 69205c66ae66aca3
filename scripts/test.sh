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
# One closing line counting test cases: TAP subtests of the cmocka units and
# unittest cases of the integration suite; a test that ran none counts as one.
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    t = json.loads(line)
    out = (t.get('stdout') or '') + (t.get('stderr') or '')
    ok = len(re.findall(r'^ok \d+', out, re.M))
    bad = len(re.findall(r'^not ok \d+', out, re.M))
    ran = re.search(r'^Ran (\d+) tests?', out, re.M)
    if ran:
        m = re.search(r'FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?', out)
        bad = sum(int(x) for x in m.groups() if x) if m else 0
        sk = re.search(r'skipped=(\d+)', out)
        skipped += int(sk.group(1)) if sk else 0
        ok = int(ran.group(1)) - bad - (int(sk.group(1)) if sk else 0)
    if t['result'] not in ('OK', 'SKIP') and bad == 0:
        bad = 1
    if t['result'] == 'SKIP':
        skipped += 1
    passed += ok
    failed += bad
print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
PY
exit $rc
