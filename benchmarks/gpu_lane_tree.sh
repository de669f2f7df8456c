#!/usr/bin/env bash
# The device tool sends the tracked files and the untracked, not ignored ones: 64 MiB with the carry. The zoo
# weights (checkpoints/*.safetensors, 113 MiB of the 118 tracked) keep the tree over it, and the lane trains from
# scratch without them, so for the call they leave the index (the files stay on disk) and are ignored locally,
# then come back exactly as committed.
#   bash benchmarks/gpu_lane_tree.sh off   # before the device run;  ... on   # right after it
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
pattern='/checkpoints/*.safetensors'
exclude=.git/info/exclude
case "${1:-}" in
  off)
    git rm -q --cached --ignore-unmatch -- 'checkpoints/*.safetensors'
    grep -qxF "$pattern" "$exclude" 2>/dev/null || echo "$pattern" >>"$exclude"
    ;;
  on)
    if [ -f "$exclude" ]; then grep -vxF "$pattern" "$exclude" >"$exclude.tmp" || true; mv "$exclude.tmp" "$exclude"; fi
    git reset -q HEAD -- checkpoints/
    ;;
  *) echo "usage: $0 off|on" >&2; exit 2 ;;
esac
echo "tracked: $(git ls-files -z | xargs -0 du -ck | tail -1 | cut -f1) KiB; $(git status --short checkpoints | wc -l) changes under checkpoints/"
