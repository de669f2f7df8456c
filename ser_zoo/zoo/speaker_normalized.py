"""Zoo checkpoints of speaker-normalised classifiers: three small arrays in safetensors, a JSON and a
markdown card.

The card carries ``kind: speaker_normalized`` and the fields ``SpeakerNormalizedClassifier.config`` names, so
``load_pretrained`` rebuilds the classifier, not a ``SERModule``; the weights are checked against their
sha256 the same way. The card says plainly that the model classifies a speaker's clips together.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

from safetensors.torch import save_file

from ..models.speaker_normalized import ADVISED_SPEAKER_CLIPS, MIN_SPEAKER_CLIPS, SpeakerNormalizedClassifier
from ..weights import sha256_file, zoo_folder
from ..zoo_paths import hub_location, in_checkout
from .licence import LICENCE


def export_speaker_normalized(
    model: SpeakerNormalizedClassifier,
    name: str,
    out_dir: Optional[Union[str, Path]] = None,
    card_extra: Optional[dict[str, Any]] = None,
) -> Path:
    """``<name>.safetensors`` + ``.json`` + ``.md`` in ``out_dir`` (default: a source checkout's
    ``checkpoints/``, else ``./checkpoints``); returns the weights path."""
    out = zoo_folder(out_dir) if out_dir or in_checkout() else Path("checkpoints")
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{name}.safetensors"
    save_file(model.state_dict(), str(weights), metadata={"format": "pt"})
    card = {
        "name": name,
        **model.config(),
        "params": model.num_params,
        "dtype": "float32",
        "sha256": sha256_file(weights),
        "size_bytes": weights.stat().st_size,
        "licence": LICENCE,
        # how evaluate reads clips for it: whole (the bench's feature vectors), trimmed as in training
        "eval": {
            "sample_rate": model.sample_rate,
            "eval_crop": "full",
            "vad_trim": model.vad_trim,
            "max_clip_seconds": 60.0,
            "clip_seconds": 3.0,  # unused by a whole-clip reading; the data module's default
        },
        **hub_location(name),
        **(card_extra or {}),
    }
    (out / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    (out / f"{name}.md").write_text(speaker_normalized_markdown(card))
    return weights


def speaker_normalized_markdown(card: dict[str, Any], load_name: Optional[str] = None) -> str:
    """The human model card of a speaker-normalised checkpoint; ``load_name`` is what the usage examples load
    (default: the zoo name)."""
    name = load_name or card["name"]
    rows = "\n".join(f"| {k} | {v} |" for k, v in card.get("metrics", {}).items()) or "| (not measured) | |"
    notes = f"**Note:** {card['notes']}\n" if card.get("notes") else ""
    where = f"**Weights:** {card['url']}; fetched on first use and checked against the sha256 above.\n"
    return f"""# {card["name"]}

**What it is:** a speaker-normalised linear classifier: each clip becomes a vector (`{card["features"]}`:
clip statistics, MFCC means and spreads, CREPE pitch statistics, the GE2E voice embedding) of the clip cut to
its speech by Silero VAD; every vector is standardised by the mean and spread of its speaker's vectors (the
variance shrunk toward the training speakers' by {card["prior_clips"]:g} pseudo-clips); a multinomial logistic
regression names the emotion. {card["params"]:,} numbers ({card["size_bytes"] / 2**10:.1f} KiB).
**Needs:** several clips of each speaker, classified together: at least {MIN_SPEAKER_CLIPS}, and
{ADVISED_SPEAKER_CLIPS} or more of mixed emotions work best. One clip alone cannot be classified; a speaker
heard only in one mood looks like an average speaker. `pip install 'ser-zoo[pretrained]'` (CREPE, GE2E,
Silero).
**Classes:** {", ".join(card["class_names"])}.
**Training data and protocol:** {card.get("data", "see the JSON card")};
protocol `{card.get("protocol", "?")}`.

| metric (protocol named in each row) | value |
|---|---|
{rows}

**Reproduce:** `{card.get("command", "?")}` (config `{card.get("config", "?")}`).
**sha256:** `{card["sha256"]}`
{where}{notes}
**Licence:** {card["licence"]}

```bash
ser-zoo infer speaker_a/ speaker_b/ --model {name}   # each folder one speaker
ser-zoo infer clips/*.wav --model {name} --speaker_by all   # all one speaker
```

```python
import ser_zoo

model = ser_zoo.load_pretrained("{name}")
model.predict_speaker(["a.wav", "b.wav", "c.wav", "d.wav", "e.wav"])  # one speaker's clips
```
"""
