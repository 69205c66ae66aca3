#!/bin/bash
# Offline validation of the deployment (deploy/, Containerfile, scripts), for
# CI without a cluster or a container engine. Prints one TAP line per check,
# with the reason of each failure as # lines, and ends with
# "N passed, N failed, N skipped"; exits non-zero if a check failed.
#
# Checks: every kustomization renders (kustomize, through `kubectl kustomize`);
# every rendered object validates against the Kubernetes and
# prometheus-operator schemas (npm kubernetes-models and
# @kubernetes-models/prometheus-operator, pinned in package-lock.json), with
# unknown fields rejected; the hardening assertions; the admission policy's
# CEL against sample requests; each rendered config.json through the real
# binary (`hostenc run --print-config`); promtool check rules and promtool
# test rules; cross-file consistency; a self-test that known regressions are
# caught; yamllint on all YAML; shellcheck on every *.sh; and
# scripts/check-runtime-libs.sh on the binary. With HOSTENC_IMAGE_BUILD=1 it
# also builds the image and runs the agent in it (tests/deploy/image-build.sh).
#
# Needs: node and npm (Node.js 20), kubectl with kustomize, and the Debian
# packages prometheus (promtool), yamllint and shellcheck. HOSTENC names the
# hostenc binary (meson passes it; default build/hostenc).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

n=0
passed=0
failed=0
skipped=0

pass() {
        n=$((n + 1)); passed=$((passed + 1))
        echo "ok $n - $1"
}
fail() {
        n=$((n + 1)); failed=$((failed + 1))
        echo "not ok $n - $1"
        [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
        return 0
}
skip() {
        n=$((n + 1)); skipped=$((skipped + 1))
        echo "ok $n - $1 # SKIP $2"
}
# check NAME COMMAND...: one line; the command's output only on failure.
check() {
        local name=$1 out
        shift
        if out=$("$@" 2>&1); then
                pass "$name"
        else
                fail "$name" "$out"
        fi
}

# --- tools ---------------------------------------------------------------------
have() { command -v "$1" >/dev/null 2>&1; }
tool() {        # tool NAME WHERE-FROM
        if have "$1"; then pass "tool $1 ($2)"; else fail "tool $1 is missing: $2"; fi
}
tool node "Node.js 20"
tool npm "Node.js 20"
tool promtool "Debian package prometheus"
tool yamllint "Debian package yamllint"
tool shellcheck "Debian package shellcheck"
if have kustomize; then
        render() { kustomize build "$1"; }
        pass "tool kustomize ($(kustomize version 2>/dev/null | head -n 1))"
elif have kubectl && kubectl kustomize --help >/dev/null 2>&1; then
        render() { kubectl kustomize "$1"; }
        pass "tool kubectl kustomize ($(kubectl version --client 2>/dev/null | grep -i kustomize | head -n 1))"
else
        render() { echo "no kustomize: install kubectl (it embeds kustomize) or kustomize" >&2; return 1; }
        fail "tool kustomize is missing: kubectl (with its built-in kustomize) or the kustomize binary"
fi

# --- npm packages (pinned by package-lock.json) --------------------------------
npm_ready=false
if have npm; then
        if cmp -s "$here/package-lock.json" "$here/node_modules/.hostenc-lock.json" 2>/dev/null; then
                npm_ready=true
                pass "npm packages installed (node_modules matches package-lock.json)"
        elif out=$(cd "$here" && npm ci --no-audit --no-fund --engine-strict=false 2>&1); then
                cp "$here/package-lock.json" "$here/node_modules/.hostenc-lock.json"
                npm_ready=true
                pass "npm ci (package-lock.json)"
        else
                fail "npm ci (package-lock.json)" "$out"
        fi
fi
js() { node "$here/lib/$1" "${@:2}"; }

# --- render every kustomization -------------------------------------------------
# name:directory:features (features: see lib/hardening.mjs)
renderings="daemonset:deploy/daemonset:agent
monitoring:deploy/overlays/monitoring:agent,monitoring
no-prometheus-operator:deploy/overlays/no-prometheus-operator:agent,scrape
azure-monitor:deploy/overlays/azure-monitor:agent
evidence-push:deploy/overlays/evidence-push:agent,push
cleanup:deploy/cleanup:cleanup
all-components:tests/deploy/all-components:agent,monitoring,push"

missing=
while IFS= read -r k; do
        dir=${k%/kustomization.yaml}
        grep -q '^kind: Component' "$k" && continue
        printf '%s\n' "$renderings" | grep -q ":$dir:" || missing="$missing $dir"
done < <(find deploy -name kustomization.yaml | sort)
if [ -z "$missing" ]; then
        pass "every kustomization under deploy/ is validated below"
else
        fail "kustomizations not validated by this script:$missing"
fi

rendered=
while IFS=: read -r name dir features; do
        if out=$(render "$dir" 2>&1 > "$tmp/$name.yaml"); then
                pass "render $dir"
                rendered="$rendered $name:$features"
        else
                fail "render $dir" "$out"
        fi
done <<< "$renderings"
ok_rendered() { case " $rendered " in *" $1:"*) return 0 ;; *) return 1 ;; esac; }

# --- per rendering: schemas, hardening, config through the binary ---------------
hostenc=${HOSTENC:-$repo/build/hostenc}
for item in $rendered; do
        name=${item%%:*}
        features=${item#*:}
        if $npm_ready; then
                check "schema $name (kubernetes-models, prometheus-operator; no unknown fields)" js schema.mjs "$tmp/$name.yaml"
                check "hardening $name ($features)" js hardening.mjs "$features" "$tmp/$name.yaml"
        else
                fail "schema $name" "npm packages unavailable"
                fail "hardening $name" "npm packages unavailable"
        fi
        case $features in *agent*) ;; *) continue ;; esac
        if [ ! -x "$hostenc" ]; then
                skip "config $name accepted by hostenc run --print-config" "no binary at $hostenc (build it, or set HOSTENC)"
        elif ! $npm_ready || ! js extract.mjs config "$tmp/$name.yaml" > "$tmp/$name.config.json"; then
                fail "config $name accepted by hostenc run --print-config" "cannot extract config.json"
        else
                check "config $name accepted by hostenc run --print-config" \
                        "$hostenc" run --config "$tmp/$name.config.json" --node-name validate --print-config
        fi
done

# --- admission policy, alerts, consistency, self-test ---------------------------
if $npm_ready && ok_rendered daemonset; then
        check "admission policy: CEL cases (own node allowed; other nodes, keys, fields denied)" js policy.mjs "$tmp/daemonset.yaml"
else
        fail "admission policy: CEL cases" "needs the npm packages and the daemonset rendering"
fi
rules=deploy/overlays/no-prometheus-operator/hostenc-rules.yaml
if have promtool; then
        if $npm_ready && ok_rendered monitoring && js extract.mjs rules "$tmp/monitoring.yaml" > "$tmp/prometheusrule-groups.yaml"; then
                check "promtool check rules: PrometheusRule hostenc (rendered)" promtool check rules "$tmp/prometheusrule-groups.yaml"
        else
                fail "promtool check rules: PrometheusRule hostenc (rendered)" "cannot extract the groups"
        fi
        check "promtool check rules: $rules" promtool check rules "$rules"
        check "promtool test rules: tests/deploy/alerts.test.yaml" promtool test rules tests/deploy/alerts.test.yaml
else
        fail "promtool check/test rules" "promtool missing"
fi
if have python3 && have promtool; then
        check "azure-monitor: generated from deploy/components/monitoring, rule groups against the 2023-03-01 schema, promtool" \
                python3 "$here/azure_check.py"
else
        fail "azure-monitor" "needs python3 (python3-yaml, python3-jsonschema) and promtool"
fi
if $npm_ready && ok_rendered azure-monitor; then
        check "azure-monitor: the rendering has the azmonitoring.coreos.com/v1 PodMonitor and no prometheus-operator objects" \
                sh -c "grep -q '^apiVersion: azmonitoring.coreos.com/v1' '$tmp/azure-monitor.yaml' && ! grep -q '^apiVersion: monitoring.coreos.com/' '$tmp/azure-monitor.yaml'"
fi
if $npm_ready && ok_rendered monitoring; then
        check "consistency: rule files, runbook anchors, push config, versions" js consistency.mjs "$tmp/monitoring.yaml"
else
        fail "consistency" "needs the npm packages and the monitoring rendering"
fi
if $npm_ready && ok_rendered monitoring && ok_rendered evidence-push && ok_rendered cleanup; then
        check "self-test: known regressions are caught" \
                js selftest.mjs "$tmp/monitoring.yaml" "$tmp/evidence-push.yaml" "$tmp/cleanup.yaml"
else
        fail "self-test" "needs the npm packages and the renderings"
fi

# --- linters --------------------------------------------------------------------
list_files() {  # list_files GLOB...: files of the work tree, not ignored
        if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                git ls-files -co --exclude-standard -- "$@"
        else
                local args=() g
                for g in "$@"; do args+=(-o -name "$g"); done
                find . \( -name 'build*' -o -name node_modules -o -name .git \) -prune -o \
                        \( -false "${args[@]}" \) -type f -print | sed 's|^\./||'
        fi
}
mapfile -t yaml_files < <(list_files '*.yaml' '*.yml' | grep -v '/node_modules/')
if have yamllint; then
        check "yamllint (${#yaml_files[@]} files, deploy/.yamllint)" \
                yamllint --strict -c deploy/.yamllint deploy/.yamllint "${yaml_files[@]}"
else
        fail "yamllint" "yamllint missing"
fi
mapfile -t sh_files < <(list_files '*.sh' | grep -v '/node_modules/')
if have shellcheck; then
        for f in "${sh_files[@]}"; do
                check "shellcheck $f" shellcheck "$f"
        done
else
        fail "shellcheck" "shellcheck missing"
fi

# --- the image's runtime libraries ----------------------------------------------
if [ -x "$hostenc" ]; then
        check "runtime libraries of $(basename "$hostenc") are in the Containerfile's runtime stage" \
                scripts/check-runtime-libs.sh "$hostenc" Containerfile
else
        skip "runtime libraries (scripts/check-runtime-libs.sh)" "no binary at $hostenc"
fi

# --- the image itself (opt-in: root, buildah, debootstrap, a few minutes) -------
if [ "${HOSTENC_IMAGE_BUILD:-0}" = 1 ]; then
        check "image: Containerfile builds with buildah and the agent runs in it" \
                env BUILD_DIR="$(dirname "$(dirname "$hostenc")")" "$here/image-build.sh"
else
        skip "image build (tests/deploy/image-build.sh)" "set HOSTENC_IMAGE_BUILD=1 to build and run the image"
fi

echo "1..$n"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
