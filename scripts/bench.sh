#!/bin/sh
# The hostenc benchmark suite (issue 8), one command:
#
#   scripts/bench.sh            full run (about 25 minutes), writes BENCHMARKS.md
#   scripts/bench.sh --smoke    each benchmark once at tiny sizes (about 1.5 minutes),
#                               prints the table; exit 1 only when an invariant breaks
#                               (API writes without a change, IMDS request rate), 2 when a
#                               benchmark cannot run, never on a timing ratio
#
# Options: --build-dir DIR (default build), --no-build (meson test has built it),
# --output FILE (full mode default: BENCHMARKS.md at the repository root), --keep
# (keep the work directory). Needs Debian's /usr/bin/python3 with python3-cryptography,
# curl, openssl, util-linux (taskset), valgrind and prometheus-node-exporter; the
# benchmarks whose tool is missing are reported as not measured.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
mode=full
build=build
do_build=1
output=
keep=
while [ $# -gt 0 ]; do
        case $1 in
        --smoke) mode=smoke ;;
        --full) mode=full ;;
        --no-build) do_build= ;;
        --build-dir) build=$2; shift ;;
        --output) output=$2; shift ;;
        --keep) keep=--keep ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown option $1" >&2; exit 64 ;;
        esac
        shift
done
case $build in /*) ;; *) build=$root/$build ;; esac
[ "$mode" = full ] && [ -z "$output" ] && output=$root/BENCHMARKS.md

if [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
        echo "bench.sh: needs /usr/bin/python3 with python3-cryptography (apt-get install python3-cryptography)" >&2
        exit 2
fi
missing=
for tool in curl openssl taskset valgrind prometheus-node-exporter cc pkg-config; do
        command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
        echo "bench.sh: missing:$missing (Debian: curl openssl util-linux valgrind prometheus-node-exporter gcc pkg-config);" \
             "those benchmarks are reported as not measured" >&2
fi

if [ -n "$do_build" ]; then
        ninja -C "$build" >/dev/null
fi

# Helpers, compiled here so the suite does not depend on how meson.build
# includes bench/: the memory floor, and the fake IMDS with a safety lifetime
# longer than the 1,000-cycle memory run (the tests' copy exits after 600 s).
helpers=$build/bench-helpers
mkdir -p "$helpers"
cc=${CC:-cc}
stale() { # stale OUTPUT SOURCE...: true when OUTPUT is missing or older than a source
        out=$1; shift
        [ -e "$out" ] || return 0
        # POSIX test has no -nt: ask find whether any source is newer.
        for src; do [ -n "$(find "$src" -newer "$out" 2>/dev/null)" ] && return 0; done
        return 1
}
if stale "$helpers/bench-floor" "$root/bench/floor.c"; then
        # shellcheck disable=SC2046
        "$cc" -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wno-unused-parameter \
                -o "$helpers/bench-floor" "$root/bench/floor.c" \
                $(pkg-config --cflags --libs libcurl libcjson blkid openssl libmicrohttpd)
fi
imds_src=$root/tests/fake-imds
if stale "$helpers/fake-imds-long" "$imds_src/fake-imds.c" "$imds_src/pki.c" "$imds_src/pki.h"; then
        # shellcheck disable=SC2046
        "$cc" -std=c11 -D_GNU_SOURCE -O2 -g -DLIFETIME_S=7200 -I"$imds_src" \
                -o "$helpers/fake-imds-long" "$imds_src/fake-imds.c" "$imds_src/pki.c" \
                $(pkg-config --cflags --libs libmicrohttpd openssl libcjson) -pthread
fi

buildtype=$(sed -n "s/^buildtype = //p" "$build/meson-private/cmd_line.txt" 2>/dev/null || true)
[ -n "$buildtype" ] || buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null |
        /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])' \
        2>/dev/null || echo '?')

set -- --mode "$mode" --build-dir "$build" --fake-imds "$helpers/fake-imds-long" \
        --floor "$helpers/bench-floor" --buildtype "$buildtype"
[ -n "$output" ] && set -- "$@" --output "$output"
[ -n "$keep" ] && set -- "$@" --keep
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$root/bench/run.py" "$@"
