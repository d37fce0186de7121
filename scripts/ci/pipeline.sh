#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kpgo's pipeline one stage at a time, for any CI (Jenkins, GitLab CI, GitHub Actions, ...): each
# stage is one job, possibly on another machine, and hands the next ones a directory of
# artifacts. A job gets the artifacts of the jobs before it in $KPGO_ARTIFACTS (however its CI
# carries them) and leaves its own there.
#
#   scripts/ci/pipeline.sh instrument   build the instrumented kernel
#                                        -> collect.tar (what collect jobs need), build.tar (optimize's)
#   scripts/ci/pipeline.sh collect      one collect job (name it with KPGO_JOB: one per workload or
#                                        machine); needs collect.tar, no kernel tree, no clang
#                                        -> profiles-$KPGO_JOB.tar
#   scripts/ci/pipeline.sh merge        every profiles-*.tar -> vmlinux.profdata, trained.txt (the
#                                        workloads the profiles came from)
#   scripts/ci/pipeline.sh optimize     build.tar + vmlinux.profdata -> bench.tar (the optimized kernel)
#   scripts/ci/pipeline.sh bench        bench.tar, trained.txt when there -> bench.json
#
# Settings (environment): KPGO (the kpgo binary; default: kpgo on PATH), KPGO_ARTIFACTS
# (default ./artifacts), KPGO_WORKDIR (this job's workdir; default ./kpgo-work), KPGO_SOURCE
# (kernel tarball or tree; default Debian's linux-source-6.12), KPGO_LLVM (LLVM=, default -19),
# KPGO_WORKLOAD (a script, or a name of kpgo's; default: default), KPGO_RUNS (default 1),
# KPGO_JOB (default: the workload's name), KPGO_CACHE (below; default: none), KPGO_COLLECT_ARGS and KPGO_BENCH_ARGS (more
# options, split on spaces, e.g. "--ssh root@host --profile-path ..."), KPGO_INSTRUMENT_ARGS.
#
# Re-runs: instrument, collect and optimize skip when their inputs did not change, given
# KPGO_CACHE, a directory the CI keeps from the job's last run (GitLab's cache:, actions/cache):
# the job restores its workdir from KPGO_CACHE/workdir.tar first and saves it there at the end
# (one file: a kernel workdir has some 200,000, which CI caches handle badly), and kpgo compares
# each phase's recorded inputs (docs/ci.md). merge always runs (seconds; the same inputs give the
# same bytes, so optimize still finds itself up to date). bench always measures, but with the
# cache its baseline kernel is built incrementally: make finds it built.
set -euo pipefail

kpgo=${KPGO:-kpgo}
artifacts=$(mkdir -p "${KPGO_ARTIFACTS:-artifacts}" && cd "${KPGO_ARTIFACTS:-artifacts}" && pwd)
workdir=${KPGO_WORKDIR:-kpgo-work}
source=${KPGO_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
llvm=${KPGO_LLVM:--19}
workload=${KPGO_WORKLOAD:-default}
runs=${KPGO_RUNS:-1}
job=${KPGO_JOB:-$(basename "$workload" .sh)}
cache=${KPGO_CACHE:-}

say() { echo "pipeline.sh: $*" >&2; }
die() { say "$*"; exit 1; }
# unpack NAME: the artifact into this job's workdir. A workdir the CI cached from this job's last
# run keeps its own record of this stage when the instrumented kernel is the same, so an
# unchanged stage finds itself up to date and does nothing.
unpack() {
  [[ -f $artifacts/$1 ]] || die "$artifacts/$1 is missing: the stage that makes it has not run here"
  "$kpgo" artifacts --unpack "$artifacts/$1" --workdir "$workdir"
}

# The workdir from the job's last run, when the CI kept it.
restore_workdir() {
  [[ -n $cache && -f $cache/workdir.tar ]] || return 0
  mkdir -p "$workdir"
  tar -C "$workdir" -xf "$cache/workdir.tar" || die "cannot restore $workdir from $cache/workdir.tar"
  say "workdir restored from $cache/workdir.tar"
}
# The workdir for the job's next run (scratch space left out), written beside and renamed.
save_workdir() {
  [[ -n $cache ]] || return 0
  mkdir -p "$cache"
  tar -C "$workdir" --exclude=./scratch -cf "$cache/workdir.tar.tmp" . ||
    { rm -f "$cache/workdir.tar.tmp"; die "cannot save $workdir to $cache/workdir.tar"; }
  mv "$cache/workdir.tar.tmp" "$cache/workdir.tar"
  say "workdir saved to $cache/workdir.tar ($(du -h "$cache/workdir.tar" | cut -f1))"
}

stage=${1:-}
case $stage in
  instrument)
    restore_workdir
    # shellcheck disable=SC2086 # KPGO_INSTRUMENT_ARGS is a list of options
    "$kpgo" instrument --source "$source" --workdir "$workdir" --llvm "$llvm" ${KPGO_INSTRUMENT_ARGS:-}
    "$kpgo" artifacts --stage collect --workdir "$workdir" --pack "$artifacts/collect.tar"
    "$kpgo" artifacts --stage optimize --workdir "$workdir" --pack "$artifacts/build.tar"
    save_workdir
    ;;
  collect)
    restore_workdir
    unpack collect.tar
    # shellcheck disable=SC2086 # KPGO_COLLECT_ARGS is a list of options
    "$kpgo" collect --workdir "$workdir" --workload "$workload" --runs "$runs" --label "$job" \
      ${KPGO_COLLECT_ARGS:-}
    "$kpgo" artifacts --stage merge --workdir "$workdir" --pack "$artifacts/profiles-$job.tar"
    save_workdir
    ;;
  merge)
    shopt -s nullglob
    sets=("$artifacts"/profiles-*.tar)
    ((${#sets[@]})) || die "no profiles-*.tar in $artifacts: no collect job has run"
    rm -rf "$artifacts/merge" && mkdir -p "$artifacts/merge"
    for set in "${sets[@]}"; do
      name=$(basename "$set" .tar)
      mkdir -p "$artifacts/merge/$name" && tar -C "$artifacts/merge/$name" -xf "$set"
    done
    dirs=("$artifacts"/merge/*/profiles)
    # vmlinux's and its modules' profiles: the build IDs of this build, from a job's kpgo.json.
    ids=()
    for id in $(python3 -c 'import json, sys
i = json.load(open(sys.argv[1]))["instrument"]
print(i["vmlinux_build_id"], *[m["build_id"] for m in i.get("modules", [])])' "${dirs[0]%/profiles}/kpgo.json"); do
      ids+=(--binary-id "$id")
    done
    "$kpgo" merge -o "$artifacts/vmlinux.profdata" "${ids[@]}" -- "${dirs[@]}"
    # The workloads the profiles came from, by name: the bench job marks them as trained on.
    python3 -c 'import json, os, sys
names = set()
for manifest in sys.argv[1:]:
    for p in json.load(open(manifest)).get("collect", {}).get("profiles", []):
        if p.get("workload"):
            names.add(os.path.basename(p["workload"]).removesuffix(".sh"))
print(",".join(sorted(names)))' "${dirs[@]/%profiles/kpgo.json}" > "$artifacts/trained.txt.tmp" ||
      { rm -f "$artifacts/trained.txt.tmp"; die "cannot read the collect jobs' workloads"; }
    mv "$artifacts/trained.txt.tmp" "$artifacts/trained.txt"
    ;;
  optimize)
    restore_workdir
    unpack build.tar
    [[ -f $artifacts/vmlinux.profdata ]] || die "$artifacts/vmlinux.profdata is missing: run the merge stage"
    "$kpgo" optimize --workdir "$workdir" --profile "$artifacts/vmlinux.profdata"
    "$kpgo" artifacts --stage bench --workdir "$workdir" --pack "$artifacts/bench.tar"
    save_workdir
    ;;
  bench)
    restore_workdir
    unpack bench.tar
    trained=()
    [[ -s $artifacts/trained.txt ]] && trained=(--trained "$(< "$artifacts/trained.txt")")
    # shellcheck disable=SC2086 # KPGO_BENCH_ARGS is a list of options
    "$kpgo" bench --json --workdir "$workdir" "${trained[@]}" ${KPGO_BENCH_ARGS:-} \
      > "$artifacts/bench.json.tmp" ||
      { rm -f "$artifacts/bench.json.tmp"; die "kpgo bench failed"; }
    mv "$artifacts/bench.json.tmp" "$artifacts/bench.json"
    save_workdir
    ;;
  *)
    die "usage: pipeline.sh instrument|collect|merge|optimize|bench (got '${stage}')"
    ;;
esac
say "stage $stage done; artifacts in $artifacts"
