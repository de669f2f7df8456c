"""What a bench run reads beyond its protocol: your own corpora, a label map, a fold count and a class list.

``ser-zoo bench`` passes every ``--data.*`` word to LightningCLI, as ``ser-zoo fit`` does; the runner
also needs some of them itself, before any training: how many folds the protocol has on these corpora, which
classes the CSV's recall columns name, and which CSV the rows go to (a protocol run on your own corpora gets
its own file, ``speaker-kfold-calls.csv``, beside the built-in leaderboards). A recipe's ``data:``
section counts as well, the command line winning, exactly as LightningCLI merges them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Sequence

import yaml

from ..data.splits import get_protocol
from ..errors import ConfigError

#: the data settings the runner reads (every other ``--data.*`` word only goes to LightningCLI)
READ_KEYS = ("corpora", "label_map", "folds", "classes")


@dataclasses.dataclass(frozen=True)
class BenchData:
    """A run's corpora (empty: the protocol's own), label map, ``speaker-kfold`` fold count and classes."""

    corpora: tuple[str, ...] = ()
    label_map: tuple[tuple[str, str], ...] = ()
    folds: Optional[int] = None
    classes: Optional[tuple[str, ...] | str] = None

    def datamodule_kwargs(self) -> dict:
        """The ``SERDataModule`` arguments these settings stand for (unset ones left to its defaults)."""
        kwargs: dict = {}
        if self.corpora:
            kwargs["corpora"] = list(self.corpora)
        if self.label_map:
            kwargs["label_map"] = dict(self.label_map)
        if self.folds is not None:
            kwargs["folds"] = self.folds
        if self.classes is not None:
            kwargs["classes"] = self.classes if isinstance(self.classes, str) else list(self.classes)
        return kwargs

    def tag(self, protocol: str) -> str:
        """The part of the CSV name that tells these corpora from the protocol's own ('' when the same)."""
        own = get_protocol(protocol).corpora
        words = []
        if self.corpora and tuple(self.corpora) != tuple(own):
            words.append("+".join(corpus_name(c) for c in self.corpora))
        if self.label_map:
            words.append("relabelled")
        if self.folds is not None:
            words.append(f"k{self.folds}")
        return "-".join(words)

    def classes_label(self) -> Optional[str]:
        """The class set as the CSV's ``classes`` column and file name write it (None: the protocol's)."""
        if self.classes is None or isinstance(self.classes, str):
            return self.classes
        return "+".join(self.classes)


def corpus_name(spec: str) -> str:
    """A built-in corpus's name, or the stem of your folder or manifest (``/data/calls.csv`` -> ``calls``)."""
    path = Path(spec)
    return path.stem if path.suffix else path.name or spec


def parse_classes(value) -> Optional[tuple[str, ...] | str]:
    """``--classes emotions6`` (a set name), ``--classes angry,happy,sad`` or a YAML list."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            value = yaml.safe_load(value)
        elif "," in value:
            value = [v.strip() for v in value.split(",") if v.strip()]
        else:
            return value
    return tuple(str(v) for v in value)


def data_words(overrides: Sequence[str], keys: Sequence[str] = READ_KEYS) -> dict:
    """The ``--data.KEY VALUE`` / ``--data.KEY=VALUE`` words of a command line for ``keys``, values read as
    YAML."""
    found: dict = {}
    words = list(overrides)
    i = 0
    while i < len(words):
        flag, eq, value = words[i].partition("=")
        key = flag.removeprefix("--data.")
        if flag.startswith("--data.") and key in keys:
            if not eq:
                if i + 1 >= len(words):
                    raise ConfigError(f"{flag} needs a value")
                value, i = words[i + 1], i + 1
            found[key] = _yaml_value(flag, value)
        i += 1
    return found


def data_root(root: Optional[str], overrides: Sequence[str]) -> Optional[str]:
    """bench's ``--root``, or the ``--data.root`` word a ``ser-zoo fit`` user types: the runner reads the
    corpora itself (to count folds, to run baselines), so the word must reach it too, not only LightningCLI.
    Given both, they must agree."""
    word = data_words(overrides, keys=("root",)).get("root")
    if word is None:
        return root
    if root is not None and Path(root) != Path(str(word)):
        raise ConfigError(f"give the data root once: --root {root} or --data.root {word}, not both")
    return str(word)


def _yaml_value(flag: str, value: str):
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise ConfigError(f"{flag} {value!r} is not a YAML value: {str(err).splitlines()[0]}") from None


def recipe_data(recipe: Optional[str]) -> dict:
    """The runner's keys of a recipe's ``data:`` section (empty for a model name or a baseline)."""
    if not recipe:
        return {}
    try:
        cfg = yaml.safe_load(Path(recipe).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"recipe {recipe} could not be read: {str(err).splitlines()[0]}") from None
    data = cfg.get("data") or {}
    data = data.get("init_args", data) if isinstance(data, dict) else {}
    return {k: data[k] for k in READ_KEYS if k in data}


def bench_data(overrides: Sequence[str] = (), recipe: Optional[str] = None, classes=None) -> BenchData:
    """A run's data settings: the recipe's ``data:`` section, then the command line's ``--data.*`` words, then
    bench's own ``--classes``."""
    given = data_words(overrides)
    found = {**recipe_data(recipe), **given}
    if classes is not None:
        if "classes" in given:
            raise ConfigError("give the classes once: --classes or --data.classes, not both")
        found["classes"] = classes
    corpora = found.get("corpora") or ()
    corpora = (corpora,) if isinstance(corpora, str) else tuple(str(c) for c in corpora)
    label_map = found.get("label_map") or {}
    if not isinstance(label_map, dict):
        raise ConfigError(
            f"data.label_map must map labels to labels, e.g. '{{joy: happy}}'; got {label_map!r}"
        )
    folds = found.get("folds")
    return BenchData(
        corpora=corpora,
        label_map=tuple(sorted((str(k), str(v)) for k, v in label_map.items())),
        folds=None if folds is None else int(folds),
        classes=parse_classes(found.get("classes")),
    )
