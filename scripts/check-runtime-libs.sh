#!/bin/sh
# Checks that the container image's runtime stage installs every shared
# library the hostenc binary needs, without building the image:
#   1. reads the package list of the `runtime` stage's `apt-get install`
#      from the Containerfile;
#   2. runs ldd on the binary (built on Debian 12, like the image) and maps
#      each library to its Debian package with dpkg -S;
#   3. fails if a library the binary links directly (ELF NEEDED) comes from a
#      package not in that list, if a library it pulls in indirectly comes from
#      a package outside the list's dependency closure (apt-cache depends), or
#      if ldd cannot resolve a library. libc6 is in every Debian base image.
# Usage: scripts/check-runtime-libs.sh BINARY [CONTAINERFILE]
# Prints one line per library and exits 0 when all of them are covered.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: $0 BINARY [CONTAINERFILE]" >&2
        exit 64
fi
bin=$1
containerfile=${2:-$(dirname "$0")/../Containerfile}
base_packages="libc6"

for tool in ldd readelf dpkg dpkg-query apt-cache awk; do
        command -v "$tool" >/dev/null 2>&1 || { echo "check-runtime-libs: $tool is missing" >&2; exit 69; }
done
[ -f "$bin" ] || { echo "check-runtime-libs: $bin: no such file" >&2; exit 66; }
[ -f "$containerfile" ] || { echo "check-runtime-libs: $containerfile: no such file" >&2; exit 66; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# 1. The runtime stage's apt-get install arguments: join continuation lines,
# keep the stage named "runtime", split RUN lines at && and ;, take the words
# after "install" that are not options.
awk '
        { line = line $0 }
        /\\$/ { sub(/\\$/, "", line); next }
        {
                if (toupper(line) ~ /^[ \t]*FROM[ \t]/)
                        stage = (tolower(line) ~ /[ \t]as[ \t]+runtime[ \t]*$/)
                else if (stage && toupper(line) ~ /^[ \t]*RUN[ \t]/) {
                        n = split(line, parts, /&&|;/)
                        for (i = 1; i <= n; i++) {
                                w = split(parts[i], words, /[ \t]+/)
                                for (j = 1; j < w; j++)
                                        if (words[j] ~ /^apt(-get)?$/ && words[j + 1] == "install") {
                                                for (k = j + 2; k <= w; k++)
                                                        if (words[k] != "" && words[k] !~ /^-/)
                                                                print words[k]
                                                break
                                        }
                        }
                }
                line = ""
        }
' "$containerfile" | sort -u > "$tmp/listed"
if [ ! -s "$tmp/listed" ]; then
        echo "FAIL no 'apt-get install' found in the runtime stage (FROM ... AS runtime) of $containerfile"
        exit 1
fi
echo "runtime stage installs: $(tr '\n' ' ' < "$tmp/listed")"

fail=0
while read -r p; do
        case $p in
        *-dev) echo "FAIL $p: a development package in the runtime stage"; fail=1 ;;
        esac
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
                echo "FAIL $p: listed in the runtime stage but not installed here, so its dependencies cannot be checked"
                fail=1
        fi
done < "$tmp/listed"

# The packages apt would install with the list (hard dependencies only).
# shellcheck disable=SC2046
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances $(cat "$tmp/listed") 2>/dev/null |
        awk '/^[^ <]/ { sub(/:.*/, ""); print }' | sort -u > "$tmp/closure"
for p in $base_packages; do echo "$p"; done >> "$tmp/closure"
sort -u -o "$tmp/closure" "$tmp/closure"

# 2. What the binary needs: direct sonames, and everything ldd resolves.
readelf -d "$bin" | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $NF); print $NF }' | sort -u > "$tmp/needed"
if ! ldd "$bin" > "$tmp/ldd" 2>&1; then
        echo "FAIL ldd $bin: $(head -n 1 "$tmp/ldd")"
        exit 1
fi

# dpkg -S knows a file by the path its package ships; with merged /usr the
# loader may report the other spelling.
package_of() {
        for f in "$1" "$(readlink -f "$1")" "${1#/usr}" "/usr$1"; do
                out=$(dpkg -S "$f" 2>/dev/null | head -n 1) || continue
                [ -n "$out" ] || continue
                echo "${out%%:*}" | sed 's/,.*//'
                return 0
        done
        return 1
}

while read -r line; do
        case $line in
        *"not found"*)
                echo "FAIL $line"
                fail=1
                continue ;;
        *" => "*) soname=${line%% =>*}; path=${line#*=> }; path=${path%% (*} ;;
        /*) path=${line%% (*}; soname=${path##*/} ;;
        *) continue ;;          # linux-vdso: in the kernel, not a file
        esac
        if ! pkg=$(package_of "$path"); then
                echo "FAIL $soname ($path): no Debian package ships it"
                fail=1
                continue
        fi
        if grep -qx "$soname" "$tmp/needed"; then
                if grep -qx "$pkg" "$tmp/listed"; then
                        echo "ok   $soname: $pkg (linked directly; listed)"
                elif echo " $base_packages " | grep -q " $pkg "; then
                        echo "ok   $soname: $pkg (linked directly; in the base image)"
                else
                        echo "FAIL $soname: linked directly, but its package $pkg is not in the runtime stage's list"
                        fail=1
                fi
        elif grep -qx "$pkg" "$tmp/closure"; then
                echo "ok   $soname: $pkg (indirect; a dependency of the list)"
        else
                echo "FAIL $soname: $pkg is neither listed nor a dependency of the listed packages"
                fail=1
        fi
        echo "$pkg" >> "$tmp/used"
done < "$tmp/ldd"

# Listed packages the binary does not use are only reported.
touch "$tmp/used"
while read -r p; do
        grep -qx "$p" "$tmp/used" || echo "note $p: listed, no library of it is linked (data or future use)"
done < "$tmp/listed"

if [ "$fail" -ne 0 ]; then
        echo "check-runtime-libs: FAILED: fix the runtime stage of $containerfile"
        exit 1
fi
echo "check-runtime-libs: every library of $bin is installed by the runtime stage"
