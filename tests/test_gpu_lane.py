"""The GPU lane's carry holds what its suite reads: every corpus of every step's protocol, and no step needs
the zoo weights that stay behind (benchmarks/gpu_lane_tree.sh). The CPU smoke test reads ../shared/data, so
only these checks catch a lane that would fail on the device."""

import subprocess
from pathlib import Path

import yaml
from conftest import SHARED_DATA, benchmark_script

from ser_zoo.bench.suite_file import load_suite
from ser_zoo.data.splits import get_protocol

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "benchmarks" / "suites" / "gpu_lane.yaml"


def test_the_carry_holds_every_corpus_the_lane_reads():
    build = benchmark_script("build_gpu_lane")
    needed = {c for step in load_suite(SUITE).steps for c in get_protocol(step.protocol).corpora}
    assert needed <= set(build.CORPORA), f"missing from build_gpu_lane.CORPORA: {needed - set(build.CORPORA)}"
    if (SHARED_DATA / "manifest.csv").is_file():  # each part is where the build looks for it
        audio, other = build.sources(SHARED_DATA, sorted(needed), limit=1)
        assert {dest.parts[0] for _, dest in audio} == needed and all(p.is_file() for p in other)


def test_no_lane_step_starts_from_zoo_weights():
    for step in load_suite(SUITE).steps:
        for recipe in step.models:
            model = yaml.safe_load((REPO / recipe).read_text()).get("model", {})
            assert not model.get("init_from"), (
                f"{recipe} starts from {model['init_from']}, which stays behind"
            )


def test_the_weights_that_stay_behind_are_every_zoo_weight_file():
    """gpu_lane_tree.sh off takes checkpoints/*.safetensors out of what travels; the rest is small."""
    script = (REPO / "benchmarks" / "gpu_lane_tree.sh").read_text()
    assert "git rm -q --cached --ignore-unmatch -- 'checkpoints/*.safetensors'" in script
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    if not tracked:  # not a git checkout
        return
    rest = sum(
        (REPO / f).stat().st_size for f in tracked if not f.endswith(".safetensors") and (REPO / f).is_file()
    )
    assert rest < 16 * 2**20, f"{rest / 2**20:.1f} MiB of tracked files travel with the carry (64 MiB in all)"
