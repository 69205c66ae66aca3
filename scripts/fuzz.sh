#!/bin/bash
# Fuzzes every libFuzzer harness of tests/fuzz for SECONDS each (default
# 600), two at a time on a two-core machine, and prints one line per target:
# executions, coverage gained, corpus inputs gained, crashes.
#
#   scripts/fuzz.sh [--ci] [SECONDS] [TARGET...]
#
# Builds build-fuzz with clang, libFuzzer, ASan and UBSan (UBSan aborts).
# Each target starts from its checked-in corpus tests/fuzz/corpus/<target>;
# what libFuzzer finds goes to a scratch directory and is then merged with
# -merge=1 into a copy of the corpus. Without --ci the inputs that add
# coverage are copied back into tests/fuzz/corpus/<target> when they are
# small (at most 40 inputs of at most 16 KiB each), to be reviewed and
# committed; --ci (the short CI run) never touches the source tree.
# Crash, leak, timeout and OOM inputs stay in build-fuzz/fuzz-artifacts/<target>/;
# any of them makes the script exit 1. Reproduce one with
#   build-fuzz/tests/fuzz/fuzz-<target> build-fuzz/fuzz-artifacts/<target>/crash-…
set -eu
cd "$(dirname "$0")/.."
ci=0
if [ "${1:-}" = "--ci" ]; then ci=1; shift; fi
secs=${1:-600}
[ $# -gt 0 ] && shift
all="imds-compute attested dsse config mountinfo udevdb sysfs kube-node collect-index fleet blob-list"
targets=${*:-$all}
jobs=${FUZZ_JOBS:-$(nproc)}
[ "$jobs" -gt 2 ] && jobs=2
build="build-fuzz"

command -v clang >/dev/null || { echo "fuzz: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
        CC=clang meson setup "$build" -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
                -Dc_args=-fno-sanitize-recover=undefined >/dev/null
fi
exes=
for t in $targets; do exes="$exes tests/fuzz/fuzz-$t"; done
# shellcheck disable=SC2086
ninja -C "$build" $exes tests/hostroots.stamp >/dev/null || {
        echo "fuzz: build failed (is subdir('fuzz') in tests/meson.build?)" >&2; exit 1; }

out=$build/fuzz-runs
rm -rf "$out"
mkdir -p "$out" "$build/fuzz-artifacts"
touch "$out/.start"
export HOSTROOTS="$PWD/$build/tests/hostroots"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

run_one() {
        t=$1
        seeds=tests/fuzz/corpus/$t
        work=$out/$t.work
        art=$build/fuzz-artifacts/$t
        mkdir -p "$work" "$art"
        dict=
        case $t in imds-compute|attested|dsse|config|kube-node|collect-index|fleet) dict=-dict=tests/fuzz/json.dict ;; esac
        mask=
        [ "$t" = config ] && mask=-close_fd_mask=2      # one log line per rejected config
        # shellcheck disable=SC2086
        "$build/tests/fuzz/fuzz-$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 \
                -max_len=65536 -print_final_stats=1 $dict $mask -artifact_prefix="$art/" \
                "$work" "$seeds" >"$out/$t.log" 2>&1 || true
        # Keep only what adds coverage to the checked-in corpus.
        mkdir -p "$out/$t.merged"
        cp "$seeds"/* "$out/$t.merged/"
        "$build/tests/fuzz/fuzz-$t" -merge=1 -rss_limit_mb=2048 -timeout=25 $mask \
                -merge_control_file="$out/$t.merge-ctl" "$out/$t.merged" "$work" >"$out/$t.merge.log" 2>&1 || true
        : >"$out/$t.finished"
}

# Two at a time: a simple job pool over the target list.
# shellcheck disable=SC2086 # the target list is split on purpose
set -- $targets
running=0
for t in "$@"; do
        run_one "$t" &
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then
                wait -n
                running=$((running - 1))
        fi
done
wait

rc=0
printf '%-14s %12s %10s %12s %12s %8s\n' target executions exec/s "cov (start→end)" "new inputs" crashes
for t in $targets; do
        log=$out/$t.log
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
        cov0=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -1)
        cov1=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
        new=0
        for f in "$out/$t.merged"/*; do
                n=$(basename "$f")
                [ -e "tests/fuzz/corpus/$t/$n" ] || new=$((new + 1))
        done
        crashes=$(find "$build/fuzz-artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -newer "$out/.start" | wc -l)
        [ "$crashes" -gt 0 ] && rc=1
        printf '%-14s %12s %10s %12s %12s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov0:-?}→${cov1:-?}" "$new" "$crashes"
        if [ "$ci" -eq 0 ] && [ "$new" -gt 0 ] && [ "$new" -le 40 ]; then
                for f in "$out/$t.merged"/*; do
                        n=$(basename "$f")
                        if [ ! -e "tests/fuzz/corpus/$t/$n" ] && [ "$(stat -c %s "$f")" -le 16384 ]; then
                                cp "$f" "tests/fuzz/corpus/$t/$n"
                        fi
                done
        fi
done
if [ "$rc" -ne 0 ]; then
        echo "fuzz: findings in $build/fuzz-artifacts/ (logs in $out/)" >&2
fi
exit $rc
