#!/usr/bin/env bash
# Mutation testing (mutmut 2.5) of one module against its fast tests, bounded in time.
#
#   scripts/mutate.sh MODULE [SECONDS]     MODULE: generate | refine | project | cluster | owners
#
# mutmut writes each mutant into the source file itself and keeps its bookkeeping in ./.mutmut-cache,
# where a mutant is found again by the text and number of its line. Run in the working tree, any change to
# a mutated file while it runs (an edit, a merge, a second run sharing the cache, or a run killed mid-mutant
# that left a mutant in place) leaves mutants whose line is no longer in the cache: mutmut then stops with
# "Mutant.line is required". So every run here works in a fresh snapshot of the tree (the working tree as it
# is, committed or not) with a fresh cache, which nothing else touches and which is thrown away afterwards.
# When SECONDS run out the run is stopped (its process group, by id) and the mutants it reached are scored.
# The summary goes to .mutate/MODULE.txt and the cache to .mutate/MODULE.cache (`mutmut results` reads it).
set -euo pipefail

module=${1:?usage: scripts/mutate.sh generate|refine|project|cluster|owners [SECONDS]}
budget=${2:-1800}
root=$(git rev-parse --show-toplevel)
python=${PYTHON:-$root/.venv/bin/python}

# The modules and, for each, the fast tests that cover it (the slow ones, Ray and browser, are left out).
case $module in
  generate)
    paths=studio/generate/apm.py,studio/generate/attention.py,studio/generate/ckpt_reader.py,studio/generate/cam.py
    tests="tests/unit/test_apm.py tests/unit/test_weights_reader.py tests/unit/test_cam.py" ;;
  refine)
    paths=studio/refine/blending.py,studio/refine/sdedit.py,studio/refine/stage.py
    tests="tests/unit/test_blending.py tests/pipeline/test_refine.py::test_the_refiner_runs_the_trailing_schedule_with_the_presets_rescale
      tests/pipeline/test_refine.py::test_guidance_rescale_by_value tests/pipeline/test_refine.py::test_one_window_is_plain_sdedit
      tests/pipeline/test_refine.py::test_every_asked_for_refine_step_runs_from_strength_times_T
      tests/pipeline/test_refine.py::test_same_seed_same_output_and_modes_differ" ;;
  project)
    paths=studio/project/model.py,studio/project/json_input.py,studio/project/paths.py,studio/project/approval.py
    tests="tests/unit/test_project.py tests/unit/test_fuzz_project.py" ;;
  cluster)
    paths=studio/cluster/connect.py,studio/cluster/service.py,studio/cluster/__init__.py
    tests="tests/unit/test_cluster_settings.py" ;;
  owners)
    paths=studio/ui/owners.py
    tests="tests/ui/test_owners.py" ;;
  *) echo "unknown module $module: generate, refine, project, cluster or owners" >&2; exit 2 ;;
esac

mkdir -p "$root/.mutate"
snapshot=$(mktemp -d "/tmp/studio-mutate-$module.XXXXXX")
trap 'rm -rf "$snapshot"' EXIT
tree=$(git -C "$root" stash create 2>/dev/null || true)
git -C "$root" archive "${tree:-HEAD}" | tar -x -C "$snapshot"

cd "$snapshot"
started=$(date +%s)
# Its own process group, so that the stop reaches mutmut's worker and the pytest it runs.
setsid "$python" -m mutmut run --paths-to-mutate "$paths" --tests-dir tests --simple-output --no-progress \
  --runner "$python -m pytest -x -q -p no:cacheprovider $(echo $tests)" > "$root/.mutate/$module.log" 2>&1 &
run=$!
( sleep "$budget"; kill -TERM -- "-$run" 2>/dev/null ) &
watch=$!
wait "$run" || true
kill "$watch" 2>/dev/null || true
cp .mutmut-cache "$root/.mutate/$module.cache"
for file in $(echo "$paths" | tr , ' '); do  # a stopped run may have left its last mutant in place
  if [ -f "$file.bak" ]; then mv "$file.bak" "$file"; fi
done
"$python" "$root/scripts/mutate_report.py" "$module" "$paths" "$(( $(date +%s) - started ))" > "$root/.mutate/$module.txt"
cat "$root/.mutate/$module.txt"
