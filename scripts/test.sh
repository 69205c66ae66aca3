#!/bin/sh
# The whole test suite: installs dependencies, builds with warnings as
# errors, runs the meson suite (unit, integration, fault injection, corpus
# replays, short soak, benchmark smoke), then the regression parts of
# docs/RELIABILITY.md: a short fuzz of every target, the suite under
# ASan+UBSan, the integration tests under valgrind, and static analysis.
# Ends with one line per part and one summary line of test cases.
#
#   scripts/test.sh            everything (.ci/run; about 30 minutes on 2 cores)
#   scripts/test.sh --quick    the meson suite only (about 7 minutes)
set -eu
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = --quick ] && quick=1
scripts/install-deps.sh
dir=build-test
[ -d "$dir" ] || meson setup "$dir" -Dwerror=true -Dtests=enabled >/dev/null
ninja -C "$dir"
rc=0
meson test -C "$dir" --print-errorlogs --num-processes 2 || rc=$?
parts="meson suite: $([ "$rc" -eq 0 ] && echo ok || echo FAILED)"
if [ "$quick" -eq 0 ]; then
        # Each part prints its own result line; a failure fails the run.
        scripts/fuzz.sh --ci "${FUZZ_CI_SECONDS:-30}" || rc=1
        VALGRIND_FAULTS=1 scripts/test-sanitizers.sh asan valgrind || rc=1
        scripts/static-analysis.sh || rc=1
        parts="$parts; fuzz, sanitizers, valgrind, static analysis: see the lines above"
fi
echo "$parts"
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
