"""Recipes by name: the YAML files of ``configs/`` ship inside the package (as ``ser_zoo/configs``), so
``ser-zoo fit --config resnet18_ravdess`` works from any install; a path works as before, and
``configs/NAME.yaml`` finds the shipped recipe when run outside a checkout. ``ser-zoo recipes`` lists them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import yaml

from .errors import ConfigError
from .suggest import hint
from .zoo_paths import data_dir

SUFFIXES = (".yaml", ".yml")
CONFIG_FLAGS = ("--config", "-c")


def recipes_dir() -> Path:
    return data_dir("configs")


def recipe_files() -> dict[str, Path]:
    """The shipped recipes by name (file stem), sorted."""
    folder = recipes_dir()
    files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES) if folder.is_dir() else []
    return {p.stem: p for p in files}


def list_recipes() -> list[str]:
    """The names of the shipped recipes."""
    return list(recipe_files())


def recipe_path(spec: str) -> str:
    """The config file ``--config spec`` means: an existing file as given, else a shipped recipe's file when
    ``spec`` is its name (``resnet18_ravdess``) or ``configs/<name>.yaml``; anything else unchanged."""
    p = Path(spec)
    if p.is_file():
        return spec
    bare = p.suffix == "" and len(p.parts) == 1
    in_configs = p.suffix in SUFFIXES and not p.is_absolute() and p.parent.as_posix() == "configs"
    if not (bare or in_configs):
        return spec
    shipped = recipe_files().get(p.stem)
    if shipped is not None:
        return str(shipped)
    if in_configs:
        return spec  # a missing path: LightningCLI names it
    near = hint(spec, list_recipes(), n=4, cutoff=0.5)
    raise ConfigError(
        f"--config {spec}: no such file and no recipe of that name; "
        f"{near}ser-zoo recipes lists them, or give a path to a YAML file"
    )


def resolve_config_args(argv: Sequence[str]) -> list[str]:
    """``argv`` with every ``--config X`` / ``--config=X`` / ``-c X`` value passed through ``recipe_path``."""
    out = list(argv)
    for i, arg in enumerate(out):
        flag, eq, value = arg.partition("=")
        if flag not in CONFIG_FLAGS:
            continue
        if eq:
            out[i] = f"{flag}={recipe_path(value)}"
        elif i + 1 < len(out):
            out[i + 1] = recipe_path(out[i + 1])
    return out


def describe(path: Path) -> dict[str, str]:
    """A recipe's name, model, protocol and first comment line (its one-line description)."""
    text = path.read_text()
    try:
        cfg = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        cfg = {}
    model, data = cfg.get("model") or {}, cfg.get("data") or {}
    comments = [line.lstrip("# ").rstrip() for line in text.splitlines() if line.startswith("#")]
    return {
        "name": path.stem,
        "model": str(model.get("model", "?")),
        "protocol": str(data.get("protocol", "?")),
        "about": comments[0] if comments else "",
    }


def recipe_table(width: int = 110) -> list[str]:
    """``ser-zoo recipes``: one aligned row per shipped recipe, cut to ``width`` characters."""
    folder = recipes_dir()
    rows = [describe(p) for p in recipe_files().values()]
    if not rows:
        return [f"no recipes found in {folder}"]
    keys = ("name", "model", "protocol")
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys) + "  about"]
    for r in rows:
        line = "  ".join(r[k].ljust(widths[k]) for k in keys) + "  " + r["about"]
        lines.append(line if len(line) <= width else line[: width - 1] + "…")
    lines.append(f"({len(rows)} recipes in {folder}; ser-zoo fit --config NAME)")
    return lines
