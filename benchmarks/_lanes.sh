# Sourced by the leaderboard lane scripts: from the repo root, `bench` runs `ser-zoo bench` on one thread into $OUT
# (default benchmarks/results; LANE_THREADS=N gives a lane run alone all N cores), and `run_lanes A B ...` runs the
# functions lane_A, lane_B, ... side by side, each logging to $LOG_DIR/<script>_<lane>.log (default /tmp), and waits
# for them all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=".venv/bin/python -m ser_zoo.cli"
OUT=${OUT:-benchmarks/results}
export OMP_NUM_THREADS=${LANE_THREADS:-1}
bench() { $PY bench --out "$OUT" "$@"; }
run_lanes() {
  local lane pid pids=()
  for lane in "$@"; do
    "lane_$lane" > "${LOG_DIR:-/tmp}/$(basename "$0" .sh)_$lane.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
