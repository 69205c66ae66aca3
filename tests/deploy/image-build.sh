#!/bin/bash
# Builds the Containerfile without a container engine and smoke-tests the
# image, on a Debian 12 machine that reaches the Debian mirror:
#   - a minimal Debian 12 root file system from debootstrap stands in for the
#     official debian:12 and debian:12-slim images (no registry is reachable);
#   - buildah builds both stages with chroot isolation and vfs storage, in a
#     private storage directory that is removed afterwards;
#   - in the image, as its own user: hostenc --version, no unresolved
#     library, the rendered base config accepted, and, when the fake IMDS and
#     the fixture host roots are built (build/tests), one `hostenc run --once`
#     cycle whose evidence `hostenc verify` accepts.
# Needs root and the Debian packages buildah and debootstrap; takes a few
# minutes. tests/deploy/validate.sh runs it when HOSTENC_IMAGE_BUILD=1.
# Environment: BUILD_DIR (default build), DEBIAN_MIRROR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

for t in buildah debootstrap git tar; do
        command -v "$t" >/dev/null 2>&1 || { echo "image-build: $t is missing (Debian package $t)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "image-build: needs root (debootstrap, buildah chroot)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/hostenc-image.XXXXXX)
fake_pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
        [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT INT TERM
B=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs)

echo "image-build: debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 ||
        { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
rm -rf "$work/rootfs"
ctr=$("${B[@]}" from scratch)
"${B[@]}" add "$ctr" "$work/rootfs.tar" / >/dev/null
"${B[@]}" commit --rm "$ctr" localhost/debian-base:12 >/dev/null 2>&1
rm -f "$work/rootfs.tar"

echo "image-build: building the Containerfile (clean context from git)"
mkdir "$work/context"
(cd "$repo" && git ls-files -co --exclude-standard | grep -v '/node_modules/' | tar -cf - -T -) |
        tar -xf - -C "$work/context"
"${B[@]}" bud --isolation chroot --layers=false -f Containerfile \
        --build-arg BUILD_IMAGE=localhost/debian-base:12 --build-arg RUNTIME_IMAGE=localhost/debian-base:12 \
        -t localhost/hostenc:test "$work/context" > "$work/build.log" 2>&1 ||
        { tail -n 30 "$work/build.log" >&2; exit 1; }

fail=0
expect() {      # expect DESCRIPTION COMMAND...
        local what=$1 out
        shift
        if out=$("$@" 2>&1); then
                echo "ok   $what"
        else
                echo "FAIL $what"
                printf '%s\n' "$out" | sed 's/^/     /'
                fail=1
        fi
}
config=$("${B[@]}" inspect --type image --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Cmd}}' localhost/hostenc:test)
expect "image config: USER 65532:65532, ENTRYPOINT hostenc, CMD run ($config)" \
        test "$config" = "65532:65532 [/usr/local/bin/hostenc] [run]"

c=$("${B[@]}" from localhost/hostenc:test)
run() { "${B[@]}" run --isolation chroot "$c" -- "$@"; }
root() { "${B[@]}" run --isolation chroot --user 0:0 "$c" -- "$@"; }
expect "runs as uid/gid 65532" test "$(run id -u):$(run id -g)" = "65532:65532"
expect "hostenc --version" run /usr/local/bin/hostenc --version
# What `podman run IMAGE --version` does: the entrypoint with the argument.
expect "IMAGE --version through the entrypoint" "${B[@]}" run --isolation chroot "$c" -- \
        "$("${B[@]}" inspect --type image --format '{{index .OCIv1.Config.Entrypoint 0}}' localhost/hostenc:test)" --version
# A stripped ELF file has no .symtab section, so its name is not in the file.
expect "the binary is stripped" sh -c "! ${B[*]} run --isolation chroot $c -- grep -qF .symtab /usr/local/bin/hostenc"
expect "no apt cache or lists left in the runtime stage" \
        test -z "$(root sh -c 'ls /var/cache/apt/archives/*.deb /var/cache/apt/*.bin /var/lib/apt/lists/*_Packages 2>/dev/null || true')"
expect "every shared library resolves" sh -c "! ${B[*]} run --isolation chroot $c -- ldd /usr/local/bin/hostenc | grep 'not found'"
"${B[@]}" copy "$c" "$repo/deploy/daemonset/config.json" /etc/hostenc/config.json >/dev/null
expect "base config.json accepted" run /usr/local/bin/hostenc run --config /etc/hostenc/config.json \
        --node-name image-test --print-config

fake=$build_dir/tests/fake-imds/fake-imds
hostroot=$build_dir/tests/hostroots/ds2v2-gen1
if [ -x "$fake" ] && [ -d "$hostroot" ]; then
        "$fake" --compute "$repo/tests/data/imds/ds2v2-gen1.json" --trust-out "$work/trust.pem" \
                --port-file "$work/port" > "$work/fake.log" 2>&1 &
        fake_pid=$!
        for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
        "${B[@]}" copy "$c" "$hostroot" /host >/dev/null
        "${B[@]}" copy "$c" "$work/trust.pem" /etc/hostenc/trust.pem >/dev/null
        root sh -c 'mkdir -p /var/lib/hostenc/evidence && chown -R 65532:65532 /var/lib/hostenc'
        expect "one cycle against the fake IMDS (libcurl, OpenSSL, libblkid, libmicrohttpd)" \
                run /usr/local/bin/hostenc run --config /etc/hostenc/config.json --once --kube-api none \
                --imds-url "http://127.0.0.1:$(cat "$work/port")" --imds-trust /etc/hostenc/trust.pem \
                --node-name image-test --metrics-listen 127.0.0.1:0
        expect "the evidence verifies" run /usr/local/bin/hostenc verify --imds-trust /etc/hostenc/trust.pem \
                /var/lib/hostenc/evidence
else
        echo "note no fake IMDS or host roots under $build_dir/tests: cycle not run"
fi
"${B[@]}" rm "$c" >/dev/null
[ "$fail" -eq 0 ] && echo "image-build: the image builds and runs"
exit "$fail"
