"""Reading a benchmark suite file into checked steps; every mistake is one line naming the file and the key.

The schema is described in :mod:`ser_zoo.bench.suite` and benchmarks/suites/README.md.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

from ..data.labels import resolve_classes
from ..data.splits import get_protocol
from ..errors import ConfigError
from ..models.ensemble import COMBINED_ROWS
from ..suggest import hint
from .provenance import REPO
from .runner import check_models, is_baseline, is_recipe, model_label

SUITE_KEYS = {"about", "protocol", "classes", "folds", "out", "threads", "steps", "in_progress"}
SHARED_KEYS = {"protocol", "classes", "folds", "threads"}
BENCH_KEYS = SHARED_KEYS | {"bench", "overrides"}
ENSEMBLE_KEYS = SHARED_KEYS | {"ensemble", "members", "baselines", "rows", "report"}
#: Set by the step itself (protocol, classes, fold, where runs are logged): not overridable.
RESERVED_OVERRIDES = ("data.protocol", "data.fold", "data.classes", "data.root", "trainer.logger")


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a suite: a ``bench`` of some models, or an ``ensemble`` evaluated fold by fold."""

    number: int
    kind: str  # "bench" or "ensemble"
    protocol: str
    classes: Optional[str]
    folds: Optional[tuple[int, ...]]  # None: every fold
    threads: int
    models: tuple[str, ...] = ()
    max_epochs: Optional[int] = None
    overrides: tuple[str, ...] = ()  # rendered: ("--trainer.max_time", "00:00:03:00", ...)
    label: str = ""
    members: tuple[str, ...] = ()
    baselines: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    report: str = "ensemble.md"

    def labels(self) -> list[str]:
        """The model names this step's rows carry in the CSV."""
        if self.kind == "bench":
            return [model_label(m) for m in self.models]
        return [f"{self.label}-{kind}" for kind in self.rows]


@dataclasses.dataclass(frozen=True)
class Suite:
    path: Path
    name: str  # as written in each row's suite column
    about: str
    out: Path
    steps: tuple[Step, ...]
    in_progress: bool = False  # rows still landing (a long run resumed session after session)


def suite_name(path: Path) -> str:
    """The suite as rows record it: its path from the repository root, or its absolute path outside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(REPO).as_posix()
    except ValueError:
        return resolved.as_posix()


class _Where:
    """Builds the one-line errors: the file, then where in it."""

    def __init__(self, path: Path):
        self.path = path

    def error(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {problem}")


def _strings(value: Any, where: str, at: _Where, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise at.error(where, f"expected a list of names, got {value!r}")
    if not value and not allow_empty:
        raise at.error(where, "the list is empty")
    return tuple(value)


def _folds(value: Any, where: str, at: _Where) -> Optional[tuple[int, ...]]:
    if value is None or value == "all":
        return None
    value = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(f, int) and not isinstance(f, bool) and f >= 0 for f in value)
    ):
        raise at.error(where, f"expected `all` or a list of fold numbers, got {value!r}")
    return tuple(value)


def _threads(value: Any, where: str, at: _Where) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise at.error(where, f"expected a positive number of threads, got {value!r}")
    return value


def _overrides(value: Any, where: str, at: _Where) -> tuple[Optional[int], tuple[str, ...]]:
    """(max_epochs, the other overrides as command-line words) from a mapping of LightningCLI keys."""
    if not isinstance(value, dict):
        raise at.error(where, f"expected a mapping of LightningCLI keys to values, got {value!r}")
    max_epochs, words = None, []
    for key, v in value.items():
        if not isinstance(key, str) or "." not in key:
            raise at.error(f"{where}.{key}", "expected a dotted LightningCLI key such as trainer.max_time")
        if key.startswith(RESERVED_OVERRIDES):
            raise at.error(
                f"{where}.{key}", "set by the step itself (protocol, classes, folds); not overridable"
            )
        if not isinstance(v, (str, int, float, bool)):
            raise at.error(f"{where}.{key}", f"expected a single value, got {v!r}")
        if key == "trainer.max_epochs":
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise at.error(f"{where}.{key}", f"expected a positive number of epochs, got {v!r}")
            max_epochs = v
        else:
            words += [f"--{key}", str(v).lower() if isinstance(v, bool) else str(v)]
    return max_epochs, tuple(words)


def _check_known(mapping: dict, allowed: set[str], where: str, at: _Where) -> None:
    for key in mapping:
        if key not in allowed:
            raise at.error(where, f"unknown key {key!r}; use one of {', '.join(sorted(allowed))}")


def _shared(number: int, raw: dict, defaults: dict, at: _Where) -> dict:
    """The keys a step shares with the suite (protocol, classes, folds, threads), checked where set."""
    where = f"step {number}"
    shared = {**defaults, **{k: raw[k] for k in SHARED_KEYS if k in raw}}
    if not shared.get("protocol"):
        raise at.error(where, "no protocol: set `protocol` on the suite or on the step")

    def key(name: str) -> str:  # on the step, or on the suite
        return f"{where}.{name}" if name in raw else name

    try:
        get_protocol(shared["protocol"])
    except ConfigError as e:
        raise at.error(key("protocol"), str(e)) from None
    try:
        if shared.get("classes") is not None:
            resolve_classes(shared["classes"])
    except ConfigError as e:
        raise at.error(key("classes"), str(e)) from None
    return dict(
        number=number,
        protocol=shared["protocol"],
        classes=shared.get("classes"),
        folds=_folds(shared.get("folds"), key("folds"), at),
        threads=_threads(shared.get("threads", 1), key("threads"), at),
    )


def _bench_step(common: dict, raw: dict, where: str, at: _Where) -> Step:
    models = _strings(raw["bench"], f"{where}.bench", at)
    try:
        check_models(models)
    except ConfigError as e:
        raise at.error(f"{where}.bench", str(e)) from None
    max_epochs, words = _overrides(raw.get("overrides", {}), f"{where}.overrides", at)
    return Step(**common, kind="bench", models=models, max_epochs=max_epochs, overrides=words)


def _ensemble_step(common: dict, raw: dict, where: str, at: _Where) -> Step:
    label = raw["ensemble"]
    if not isinstance(label, str) or not label:
        raise at.error(f"{where}.ensemble", f"expected the leaderboard label, got {label!r}")
    members = _strings(raw.get("members", []), f"{where}.members", at, allow_empty=True)
    baselines = _strings(raw.get("baselines", []), f"{where}.baselines", at, allow_empty=True)
    for m in members:
        if is_recipe(m) and not Path(m).is_file():
            raise at.error(f"{where}.members", f"recipe not found: {m}")
    bad = [b for b in baselines if not is_baseline(b)]
    if bad:
        raise at.error(f"{where}.baselines", f"not baseline specs: {bad}")
    if len(members) + len(baselines) < 2:
        raise at.error(where, "an ensemble needs two or more members and baselines")
    rows = _strings(raw.get("rows", list(COMBINED_ROWS)), f"{where}.rows", at)
    unknown = [r for r in rows if r not in COMBINED_ROWS]
    if unknown:
        raise at.error(f"{where}.rows", f"unknown rows {unknown}; use some of {list(COMBINED_ROWS)}")
    report = raw.get("report", "ensemble.md")
    if not isinstance(report, str) or not report:
        raise at.error(f"{where}.report", f"expected a file name, got {report!r}")
    return Step(
        **common, kind="ensemble", label=label, members=members, baselines=baselines, rows=rows, report=report
    )


def _step(number: int, raw: Any, defaults: dict, at: _Where) -> Step:
    where = f"step {number}"
    if not isinstance(raw, dict):
        raise at.error(where, f"expected a mapping with `bench` or `ensemble`, got {raw!r}")
    kinds = [k for k in ("bench", "ensemble") if k in raw]
    if len(kinds) != 1:
        raise at.error(where, "needs exactly one of the keys `bench` and `ensemble`")
    _check_known(raw, BENCH_KEYS if kinds == ["bench"] else ENSEMBLE_KEYS, where, at)
    common = _shared(number, raw, defaults, at)
    return (_bench_step if kinds == ["bench"] else _ensemble_step)(common, raw, where, at)


def load_suite(path: str | Path, out: Optional[str | Path] = None) -> Suite:
    """Read and check a suite file; every problem is a one-line ConfigError naming the file and the key.

    ``out`` replaces the suite's output folder (a scratch rerun, a test)."""
    import yaml

    path = Path(path)
    at = _Where(path)
    if not path.is_file():
        beside = sorted(p.name for p in path.parent.glob("*.y*ml")) if path.parent.is_dir() else []
        near = hint(path.name, beside)
        raise ConfigError(
            f"suite not found: {path}; {near}give a suite's YAML file "
            "(benchmarks/suites/*.yaml in a source checkout)"
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `steps`")
    _check_known(raw, SUITE_KEYS, "suite", at)
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise at.error("steps", "expected a non-empty list of steps")
    about = raw.get("about", "")
    if not isinstance(about, str):
        raise at.error("about", f"expected a line of text, got {about!r}")
    folder = out if out is not None else raw.get("out", "benchmarks/results")
    if not isinstance(folder, (str, Path)) or not str(folder):
        raise at.error("out", f"expected a folder, got {folder!r}")
    in_progress = raw.get("in_progress", False)
    if not isinstance(in_progress, bool):
        raise at.error("in_progress", f"expected true or false, got {in_progress!r}")
    defaults = {k: raw[k] for k in SHARED_KEYS if k in raw}
    parsed = tuple(_step(i, s, defaults, at) for i, s in enumerate(steps, 1))
    return Suite(
        path=path,
        name=suite_name(path),
        about=about.strip(),
        out=Path(folder),
        steps=parsed,
        in_progress=in_progress,
    )
