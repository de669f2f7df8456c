"""Package layout for setuptools; everything else is in pyproject.toml.

The repository keeps its recipes in ``configs/`` and the zoo in ``checkpoints/`` (top-level folders); the
wheel carries them as ``ser_zoo/configs`` and ``ser_zoo/checkpoints`` (``ser_zoo.zoo_paths`` finds either), so
recipes, zoo cards and the default model work from any install. The default model's weights ship, and any
weights file under ``SHIP_BELOW`` bytes (the speaker-normalised classifier's 10 KiB); the others are fetched
on first use. Mapping folders from outside the package needs ``package_dir`` next to discovered packages,
which pyproject.toml's declarative form cannot express.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

#: read from ser_zoo/zoo_paths.py (not imported: that would import torch), so the constant is the one switch
DEFAULT_MODEL = re.search(
    r'^DEFAULT_MODEL = "(\w+)"', (Path(__file__).parent / "ser_zoo" / "zoo_paths.py").read_text(), re.M
).group(1)

SHIP_BELOW = 64 * 1024
ZOO = Path(__file__).parent / "checkpoints"
SMALL_WEIGHTS = sorted(p.name for p in ZOO.glob("*.safetensors") if p.stat().st_size < SHIP_BELOW)

setup(
    packages=[*find_packages(include=["ser_zoo", "ser_zoo.*"]), "ser_zoo.configs", "ser_zoo.checkpoints"],
    package_dir={"ser_zoo.configs": "configs", "ser_zoo.checkpoints": "checkpoints"},
    package_data={
        "ser_zoo.configs": ["*.yaml"],
        "ser_zoo.checkpoints": ["*.json", "*.md", f"{DEFAULT_MODEL}.safetensors", *SMALL_WEIGHTS],
    },
)
