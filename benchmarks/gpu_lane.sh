#!/usr/bin/env bash
# The GPU lane (issue 21): the one command a session lent a GPU runs, over the carried folder .gpu_lane/carry/
# that benchmarks/build_gpu_lane.py builds (corpora re-encoded to fit, wheels the device lacks, the commit).
# It trains benchmarks/suites/gpu_lane.yaml's (step, fold) jobs side by side (benchmarks/gpu_lane.py), stops
# them LANE_SECONDS after it started (60 s inside the device's 600 s command limit), and copies the CSVs,
# LEADERBOARD.md, its log and the workers' logs into $OUT.
#   device:  bash benchmarks/gpu_lane.sh            (the run call build_gpu_lane.py prints)
#   CPU smoke test (fold 0 of each step, 1 epoch, 24 clips; rows in a scratch folder, never the suite's out):
#     LANE_SMOKE=1 PYTHON=.venv/bin/python LANE_JOBS=2 bash benchmarks/gpu_lane.sh
# Settings (environment): PYTHON (python3), LANE_DIR (.gpu_lane/carry), LANE_JOBS (8), LANE_SECONDS (540),
# LANE_SMOKE (0), OUT (where files are copied; default runs/gpu_lane_out), SER_ZOO_DATA (default: the corpora
# of LANE_DIR/data.tar.gz, unpacked into /tmp/gpu_lane_data), SER_ZOO_CACHE (/tmp/ser_zoo_cache),
# LANE_GIT_SHIM=1 (test the stand-in git that answers where .git did not travel).
set -u -o pipefail
T0=$SECONDS
STAMP=$(mktemp /tmp/gpu_lane_stamp.XXXXXX)
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
PY=${PYTHON:-python3}
LANE=${LANE_DIR:-$REPO/.gpu_lane/carry}
SMOKE=${LANE_SMOKE:-0}
DEST=${OUT:-$REPO/runs/gpu_lane_out}
mkdir -p "$DEST"
LOG=$DEST/lane.log
say() { echo "lane: $*" | tee -a "$LOG"; }
: >"$LOG"
say "$(date -u +%FT%TZ) repo $REPO, python $($PY -c 'import sys; print(sys.version.split()[0])'), smoke $SMOKE"
command -v nvidia-smi >/dev/null && nvidia-smi -L | tee -a "$LOG"

# Python packages the device image lacks: cp312 wheels, installed beside its own packages.
if compgen -G "$LANE/whl/*.whl" >/dev/null; then
  if $PY -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/lane_site \
      "$LANE"/whl/*.whl 2>&1 | tee -a "$LOG" || { say "wheel install failed"; exit 3; }
    export PYTHONPATH=/tmp/lane_site${PYTHONPATH:+:$PYTHONPATH}
  else
    say "$PY is not Python 3.12: the cp312 wheels are not installed; its own packages are used"
  fi
fi
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
if [ -z "${SER_ZOO_DATA:-}" ]; then
  [ -s "$LANE/data.tar.gz" ] || { say "no $LANE/data.tar.gz: run benchmarks/build_gpu_lane.py first"; exit 4; }
  export SER_ZOO_DATA=/tmp/gpu_lane_data
  rm -rf "$SER_ZOO_DATA" && mkdir -p "$SER_ZOO_DATA" && tar xzf "$LANE/data.tar.gz" -C "$SER_ZOO_DATA" || exit 4
  say "corpora unpacked into $SER_ZOO_DATA: $(du -sh "$SER_ZOO_DATA" | cut -f1), $((SECONDS - T0)) s"
fi
export SER_ZOO_CACHE=${SER_ZOO_CACHE:-/tmp/ser_zoo_cache}
export PYTHONUNBUFFERED=1 SER_ZOO_OFFLINE=1 HF_HUB_OFFLINE=1 MPLBACKEND=Agg
cat "$LANE/BUILD.txt" 2>/dev/null | tee -a "$LOG"

# Rows name the commit: where .git did not travel, a stand-in git answers with the one the build recorded.
if [ "${LANE_GIT_SHIM:-0}" = 1 ] || ! git rev-parse --short HEAD >/dev/null 2>&1; then
  if [ -s "$LANE/COMMIT" ]; then
    mkdir -p /tmp/lane_bin
    printf '#!/bin/sh\n[ "$1" = rev-parse ] && cat %s\nexit 0\n' "$LANE/COMMIT" >/tmp/lane_bin/git
    chmod +x /tmp/lane_bin/git
    export PATH=/tmp/lane_bin:$PATH
    say "commit from $LANE/COMMIT: $(git rev-parse --short HEAD)"
  fi
fi

ARGS=(benchmarks/suites/gpu_lane.yaml --jobs "${LANE_JOBS:-8}")
if [ "$SMOKE" = 1 ]; then
  SCRATCH=$(mktemp -d /tmp/gpu_lane_smoke.XXXXXX)
  RESULTS=$SCRATCH/results
  ARGS+=(--smoke --out "$RESULTS" --workdir "$SCRATCH/work")
  WORK=$SCRATCH/work
else
  RESULTS=$REPO/benchmarks/results/gpu_lane
  WORK=$REPO
fi
LEFT=$((${LANE_SECONDS:-540} - (SECONDS - T0)))
say "lane starts: ${ARGS[*]}, $LEFT s left"
timeout -k 15 $((LEFT + 30)) $PY benchmarks/gpu_lane.py "${ARGS[@]}" --seconds "$LEFT" 2>&1 | tee -a "$LOG"
RC=$?

# What comes back: at most 8 files, no deeper than $OUT/a/b/.
cp "$RESULTS"/*.csv "$RESULTS"/LEADERBOARD.md "$DEST"/ 2>/dev/null
(cd "$WORK" && tar czf "$DEST/logs.tar.gz" runs/gpu_lane $(find runs/bench -name metrics.csv -newer "$STAMP" 2>/dev/null))
say "exit $RC after $((SECONDS - T0)) s; in $DEST: $(cd "$DEST" && echo *)"
exit $RC
