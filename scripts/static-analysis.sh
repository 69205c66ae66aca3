#!/bin/sh
# Static analysis of the product code (common/, collectors/, agent/):
#   1. clang-tidy with the checked-in .clang-tidy (clang-analyzer-*, bugprone-*,
#      cert-*; the disabled checks are justified there, single findings
#      inline with NOLINT and a reason);
#   2. cppcheck --enable=warning,portability (inline suppressions carry a
#      reason);
#   3. gcc -fanalyzer, warnings as errors;
#   4. no banned function (scripts/check-banned.sh: sprintf, strcpy, ...).
# Exits non-zero on any finding.
#
#   scripts/static-analysis.sh [tidy|cppcheck|fanalyzer|banned]...   (default: all)
set -eu
cd "$(dirname "$0")/.."
parts=${*:-banned tidy cppcheck fanalyzer}
rc=0
summary=
dirs="common collectors evidence agent fleet cli"

# A clang tree only for its compile_commands.json (clang-tidy must see the
# flags clang understands) and the generated trust-bundle.c.
compdb() {
        if [ ! -f build-analyze/build.ninja ]; then
                CC=clang meson setup build-analyze -Dtests=disabled >/dev/null
        fi
        ninja -C build-analyze evidence/trust-bundle.c >/dev/null
}

sources() {
        for d in $dirs; do ls "$d"/*.c; done
}

tidy() {
        command -v clang-tidy >/dev/null || { echo "static-analysis: clang-tidy is missing" >&2; return 1; }
        compdb
        log=build-analyze/clang-tidy.log
        # shellcheck disable=SC2046
        if ! run-clang-tidy -quiet -p build-analyze $(sources) >"$log" 2>&1; then
                grep -E 'warning:|error:' "$log" | grep -v '^[0-9]* warnings? generated' >&2 || tail -20 "$log" >&2
                return 1
        fi
        ! grep -E ': (warning|error): ' "$log" >&2
}

cppcheck_run() {
        command -v cppcheck >/dev/null || { echo "static-analysis: cppcheck is missing" >&2; return 1; }
        compdb
        mkdir -p build-analyze/cppcheck
        # Suppressed everywhere, with the reason:
        #  varFuncNullUB: jlog(..., NULL) ends its key/value list with NULL,
        #    read back as const char *. glibc defines NULL as ((void *) 0) in
        #    C, and C11 7.16.1.1p2 allows reading a void * as a char pointer.
        #  readdirCalled: readdir_r is deprecated (glibc 2.24); readdir is
        #    safe when one thread uses a DIR stream, as everywhere here.
        #  memleak, resourceLeak: cppcheck does not model
        #    __attribute__((cleanup)), so every _cleanup_free_ pointer and
        #    _cleanup_close_ descriptor is "leaked" at each early return.
        #    gcc -fanalyzer (below) sees the cleanups and checks leaks of
        #    both; LeakSanitizer and valgrind check them at run time.
        # cJSON.h is included up front: cppcheck does not follow <cjson/...>
        # and would not know the cJSON_ArrayForEach macro.
        cppcheck --project=build-analyze/compile_commands.json --enable=warning,portability \
                --inline-suppr --error-exitcode=1 --quiet --library=posix \
                --cppcheck-build-dir=build-analyze/cppcheck \
                --file-filter='common/*' --file-filter='collectors/*' --file-filter='evidence/*' --file-filter='agent/*' --file-filter='fleet/*' --file-filter='cli/*' \
                --suppress='*:*/build-analyze/*' --suppress=varFuncNullUB --suppress=readdirCalled \
                --suppress=memleak --suppress=resourceLeak --include=/usr/include/cjson/cJSON.h \
                -D__GNUC__=12 --std=c11
}

fanalyzer() {
        # -Wno-analyzer-use-of-uninitialized-value: new in GCC 12 and wrong
        # here: it reports the pointer that freep() (the _cleanup_free_
        # function) reads as uninitialized although every such variable is
        # initialized at its declaration (= NULL), because the cleanup reads
        # it through a void ** (three reports, all of this kind).
        # Uninitialized reads are still -Wmaybe-uninitialized in every build
        # and valgrind memcheck at run time.
        args="-fanalyzer -Wno-analyzer-use-of-uninitialized-value"
        if [ ! -f build-fanalyzer/build.ninja ]; then
                CC=gcc meson setup build-fanalyzer -Dtests=disabled -Dwerror=true -Dc_args="$args" >/dev/null
        else
                meson configure build-fanalyzer -Dc_args="$args" >/dev/null
        fi
        ninja -k 0 -C build-fanalyzer >build-fanalyzer/fanalyzer.log 2>&1 || { grep -E 'warning:|error:' -A3 build-fanalyzer/fanalyzer.log >&2; return 1; }
}

ok() { summary="$summary $1:ok"; }
bad() { summary="$summary $1:FAILED"; rc=1; }
for p in $parts; do
        case $p in
        tidy) if tidy; then ok clang-tidy; else bad clang-tidy; fi ;;
        cppcheck) if cppcheck_run; then ok cppcheck; else bad cppcheck; fi ;;
        fanalyzer) if fanalyzer; then ok gcc-fanalyzer; else bad gcc-fanalyzer; fi ;;
        banned) if scripts/check-banned.sh; then ok banned-functions; else bad banned-functions; fi ;;
        *) echo "usage: $0 [tidy|cppcheck|fanalyzer|banned]..." >&2; exit 64 ;;
        esac
done
echo "static analysis:$summary"
exit $rc
