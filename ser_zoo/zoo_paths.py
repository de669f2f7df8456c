"""Where the zoo lives on this machine: the cards and recipes, the default model, the weights cache.

An installed wheel carries the repository's ``checkpoints/`` (every card, plus the default model's weights)
and ``configs/`` (the recipes) as ``ser_zoo/checkpoints`` and ``ser_zoo/configs`` (``setup.py`` maps them in);
a source checkout reads the folders themselves. Weights that are not shipped are downloaded on first use into
``$SER_ZOO_HOME/checkpoints``. Standard library only: the CLI reads its defaults from here without importing
torch.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The model ``ser-zoo infer`` and ``ser-zoo listen`` use without ``--model``; its weights ship inside the
#: wheel (setup.py reads this line to name its file), so it works offline right after ``pip install``.
#: ``general6``: six classes, every speaker of the four corpora, robustness augmentation, calibrated, input
#: cut to its speech (issue 21). This constant is the one switch.
DEFAULT_MODEL = "general6"

#: The recipe ``ser-zoo demo`` (``make demo``) trains and tests, and for how many epochs: the fast default,
#: chosen on every ravdess-6fold fold (benchmarks/results/arch_comparison.md), whose short run beats the
#: former default's (4-epoch resnet18_ravdess) in less wall time.
DEFAULT_RECIPE = "resnet18_half_ravdess"
DEMO_EPOCHS = 20

#: The Hugging Face organisation the zoo checkpoints are published under (``ser-zoo zoo push``), and the file
#: names of a checkpoint's weights and card in such a repository.
HUB_ORG = "ser-zoo"
HUB_WEIGHTS = "model.safetensors"
HUB_CARD = "card.json"

PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """``checkpoints`` or ``configs``: the installed package's copy, else the source checkout's folder."""
    packaged = PACKAGE / name
    if packaged.is_dir():
        return packaged
    checkout = PACKAGE.parent
    # pyproject.toml beside the package: a source checkout, not some other folder next to site-packages
    return checkout / name if (checkout / "pyproject.toml").is_file() else packaged


def in_checkout() -> bool:
    """Running from a source checkout (its ``checkpoints/`` and ``configs/``), not an installed package."""
    return data_dir("checkpoints") != PACKAGE / "checkpoints"


def zoo_home() -> Path:
    """``$SER_ZOO_HOME``, else ``ser-zoo`` in the user's cache folder (``$XDG_CACHE_HOME``, ``~/.cache``)."""
    if os.environ.get("SER_ZOO_HOME"):
        return Path(os.environ["SER_ZOO_HOME"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "ser-zoo"


def is_offline() -> bool:
    """``SER_ZOO_OFFLINE=1`` (or Hugging Face's ``HF_HUB_OFFLINE=1``): use cached files, never the network."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in OFFLINE_VARIABLES)


OFFLINE_VARIABLES = ("SER_ZOO_OFFLINE", "HF_HUB_OFFLINE")


def hub_location(name: str) -> dict[str, str]:
    """The card fields naming where a zoo checkpoint's weights are published: a plain URL and its Hub repo."""
    repo = f"{HUB_ORG}/{name}"
    return {"url": f"https://huggingface.co/{repo}/resolve/main/{HUB_WEIGHTS}", "hf_hub_id": repo}
