#!/bin/sh
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (gcc; any report fails the test that hit it), then the integration tests
# with every `hostenc` they start running under valgrind memcheck (zero
# errors, zero definite leaks). Exits non-zero on any finding.
#
#   scripts/test-sanitizers.sh [asan|valgrind]...   (default: both)
#
# Build trees: build-asan (ASan+UBSan, -Dwerror=true) and, for valgrind, an
# unsanitized tree: $VALGRIND_BUILD (default build-test, the tree of
# scripts/test.sh), set up here when missing. VALGRIND_FAULTS=1 also runs
# tests/integration/test_faults.py under valgrind (12 more minutes).
set -eu
cd "$(dirname "$0")/.."
parts=${*:-asan valgrind}
rc=0
summary=

asan() {
        dir=build-asan
        if [ ! -f "$dir/build.ninja" ]; then
                meson setup "$dir" -Db_sanitize=address,undefined -Dwerror=true -Dtests=enabled \
                        -Dc_args=-fno-sanitize-recover=undefined -Db_lundef=false >/dev/null
        fi
        ninja -C "$dir" >/dev/null
        # detect_leaks: LeakSanitizer at every exit; abort_on_error: a report
        # is a crash, never a warning; UBSan halts on the first finding.
        # allocator_may_return_null: hostile sizes get ENOMEM, as in production.
        # The deploy suite checks manifests and the release image's libraries
        # (which an ASan binary cannot match); it has no C code to check. The
        # benchmark smoke measures, and valgrind's tools cannot run an ASan
        # binary; the same code paths run in the integration suites.
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:detect_stack_use_after_return=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
                        --no-suite deploy --no-suite bench || return 1
        # A sanitizer report inside a child that the test tolerated (a
        # daemon killed on purpose, say) still counts.
        if grep -l -E '^(==[0-9]+==ERROR: (AddressSanitizer|LeakSanitizer)|.*runtime error: )' \
                "$dir/meson-logs/testlog.txt" >/dev/null 2>&1; then
                echo "test-sanitizers: sanitizer report in $dir/meson-logs/testlog.txt" >&2
                return 1
        fi
        return 0
}

valgrind_run() {
        command -v valgrind >/dev/null || { echo "test-sanitizers: valgrind is missing (apt-get install valgrind)" >&2; return 1; }
        dir=${VALGRIND_BUILD:-build-test}
        if [ ! -f "$dir/build.ninja" ]; then
                meson setup "$dir" -Dwerror=true -Dtests=enabled >/dev/null
        fi
        ninja -C "$dir" >/dev/null
        logs=$(mktemp -d "${TMPDIR:-/tmp}/hostenc-valgrind.XXXXXX")
        wrapper=$logs/hostenc
        # The integration suites run $HOSTENC; this one runs it under memcheck.
        # Valgrind's own report goes to a log file per process, so the tests
        # still see hostenc's exact stdout, stderr and exit code.
        cat >"$wrapper" <<WRAP
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \\
        --errors-for-leak-kinds=definite --child-silent-after-fork=yes \\
        --log-file=$logs/vg.%p.log "$PWD/$dir/hostenc" "\$@"
WRAP
        chmod +x "$wrapper"
        src=$PWD
        export HOSTENC="$wrapper" FAKE_IMDS="$src/$dir/tests/fake-imds/fake-imds" \
                HOSTROOTS="$src/$dir/tests/hostroots" IMDS_FIXTURES="$src/tests/data/imds" \
                STATEMENT_SCHEMA="$src/docs/statement.schema.json" DSSE_TESTDATA="$src/tests/data/vectors/dsse" \
                HOSTENC_VALGRIND=1
        vrc=0
        # Two groups side by side (the suites mostly wait on daemons and
        # fakes): test_evidence alone takes as long as the others together.
        # test_faults (about 12 more minutes under valgrind) only with
        # VALGRIND_FAULTS=1.
        group2="test_check test_daemon test_blob"
        [ "${VALGRIND_FAULTS:-0}" = 1 ] && group2="$group2 test_faults"
        run_group() {
                for t in "$@"; do
                        echo "valgrind: tests/integration/$t.py"
                        (cd tests/integration && /usr/bin/python3 "$t.py" >"$logs/$t.out" 2>&1) ||
                                echo "$t" >>"$logs/failed"
                done
        }
        run_group test_evidence &
        # shellcheck disable=SC2086 # the group is a word list
        run_group $group2
        wait
        if [ -s "$logs/failed" ]; then
                while read -r t; do
                        echo "test-sanitizers: $t failed under valgrind:" >&2
                        tail -40 "$logs/$t.out" >&2
                done <"$logs/failed"
                vrc=1
        fi
        # Unit tests and corpus replays, wrapped directly.
        meson test -C "$dir" --suite unit --suite fuzz --num-processes 2 --timeout-multiplier 10 \
                --wrapper "valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite" \
                >"$logs/unit.out" 2>&1 || { echo "test-sanitizers: unit/fuzz tests failed under valgrind" >&2; tail -30 "$logs/unit.out" >&2; vrc=1; }
        n=$(find "$logs" -name 'vg.*.log' | wc -l)
        bad=$(grep -l -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$logs"/vg.*.log 2>/dev/null || true)
        if [ -n "$bad" ]; then
                echo "test-sanitizers: memcheck findings:" >&2
                for f in $bad; do cat "$f" >&2; done
                vrc=1
        fi
        echo "valgrind: $n hostenc processes checked, logs in $logs"
        [ "$vrc" -eq 0 ] && rm -rf "$logs"
        return $vrc
}

for p in $parts; do
        case $p in
        asan)
                if asan; then summary="$summary asan+ubsan:ok"; else summary="$summary asan+ubsan:FAILED"; rc=1; fi ;;
        valgrind)
                if valgrind_run; then summary="$summary valgrind:ok"; else summary="$summary valgrind:FAILED"; rc=1; fi ;;
        *)
                echo "usage: $0 [asan|valgrind]..." >&2; exit 64 ;;
        esac
done
echo "sanitizers:$summary"
exit $rc
