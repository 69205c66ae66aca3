#!/bin/sh
# Fails when C code outside tests/ calls a function that cannot bound its
# output or report its errors: sprintf and friends, strcpy/strcat, gets,
# strtok (hidden state), atoi/atol/atof (no error), tmpnam/mktemp (races).
# Use snprintf with a checked result, strcpy_bounded, strparse.h, mkstemp.
# Also fails on a relative #include ("../x.h"), which would step around the
# include directories that enforce the layers (docs/ARCHITECTURE.md).
set -eu
cd "$(dirname "$0")/.."
banned='sprintf|vsprintf|strcpy|strncpy|strcat|strncat|stpcpy|gets|strtok|atoi|atol|atoll|atof|tmpnam|tempnam|mktemp'
# A call is the bare name followed by "(", not part of a longer identifier
# (snprintf, strcpy_bounded) and not inside a comment line.
hits=$(git ls-files -co --exclude-standard '*.c' '*.h' | grep -v '^tests/' |
        xargs grep -nE "(^|[^A-Za-z0-9_])($banned)[[:space:]]*\(" |
        grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' || true)
rel=$(git ls-files -co --exclude-standard '*.c' '*.h' | grep -v '^tests/' |
        xargs grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[.][.]/' || true)
hits=$(printf '%s\n%s\n' "$hits" "$rel" | sed '/^$/d')
if [ -n "$hits" ]; then
        printf '%s\n' "$hits" >&2
        echo "banned functions: $(printf '%s\n' "$hits" | wc -l) line(s) above" >&2
        exit 1
fi
echo "banned functions: none"
