"""Zoo checkpoints: safetensors weights + a JSON card, checked against their sha256, never unpickled.

A zoo checkpoint is ``<name>.safetensors`` (the SERModule's net + front-end state, fp16 where accuracy holds)
beside ``<name>.json`` (everything needed to rebuild it: model, options, front-end, classes, sample rate, crop)
and ``<name>.md`` (the human model card). ``load_pretrained`` rebuilds the module from the card, checks the
weights' sha256 first, and loads them with safetensors, which cannot execute code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, NamedTuple, Optional, Union

import torch
from safetensors.torch import load_file, save_file

from ..errors import ConfigError, SerZooError

ZOO_DIR = Path(__file__).resolve().parents[2] / "checkpoints"
LICENCE = (
    "Trained on research corpora licensed for non-commercial research only (RAVDESS: CC BY-NC-SA 4.0; "
    "CREMA-D: ODbL with its own terms; TESS and SAVEE: free for research). These weights inherit that "
    "restriction: non-commercial research use only."
)


def sha256_file(path: Union[str, Path]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_zoo(zoo_dir: Optional[Union[str, Path]] = None) -> list[dict[str, Any]]:
    """The cards of every checkpoint in the zoo folder."""
    return [json.loads(p.read_text()) for p in sorted(Path(zoo_dir or ZOO_DIR).glob("*.json"))]


def zoo_table(cards: list[dict[str, Any]]) -> list[str]:
    """``ser-zoo zoo list``: one aligned row per card, with the checkpoint's own test-fold UA beside its recipe's
    mean over the folds run (the card's ``test_fold_ua`` and ``recipe_ua``)."""
    rows = [("name", "model", "classes", "protocol", "fold", "test UA", "recipe UA (folds)", "MiB")]
    for c in cards:
        test = (
            f"{c['test_fold_ua'] * 100:.2f}"
            if "test_fold_ua" in c
            else str(c.get("metrics", {}).get("ua", "-"))
        )
        r = c.get("recipe_ua")
        recipe = (
            (
                f"{r['mean'] * 100:.2f}"
                + (f" ± {r['std'] * 100:.2f}" if r.get("std") is not None else "")
                + f" ({len(r['folds'])})"
            )
            if r
            else "-"
        )
        rows.append(
            (
                c["name"],
                c["model"],
                str(len(c["class_names"])),
                c.get("protocol", "?"),
                str(c.get("fold", "-")),
                test,
                recipe,
                f"{c['size_bytes'] / 2**20:.1f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]


def resolve(name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None) -> tuple[Path, dict[str, Any]]:
    """(weights path, card) for a zoo name or a path to a ``.safetensors`` / ``.json`` file."""
    p = Path(name_or_path)
    if p.suffix in (".safetensors", ".json"):
        card_path = p.with_suffix(".json")
    else:
        card_path = Path(zoo_dir or ZOO_DIR) / f"{p.name}.json"
    if not card_path.is_file():
        names = [c["name"] for c in list_zoo(zoo_dir)]
        raise ConfigError(
            f"no zoo checkpoint '{name_or_path}' (looked for {card_path}); available: {names} "
            "or give a path to a .safetensors file with its .json card beside it"
        )
    card = json.loads(card_path.read_text())
    return card_path.with_suffix(".safetensors"), card


def verified_state_dict(weights: Path, card: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The state dict in fp32, after checking the file's sha256 against its card."""
    if not weights.is_file():
        raise SerZooError(f"{weights}: weights file missing; re-fetch the checkpoint")
    digest = sha256_file(weights)
    if digest != card["sha256"]:
        raise SerZooError(
            f"{weights}: sha256 {digest[:12]}… does not match its card ({card['sha256'][:12]}…); "
            "the file is truncated or altered, re-fetch it"
        )
    try:
        state = load_file(str(weights))
    except Exception as e:
        raise SerZooError(f"{weights}: not a readable safetensors file ({str(e).splitlines()[0]})") from None
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def module_from_card(card: dict[str, Any]):
    """An untrained SERModule built exactly as the card describes (front-end included)."""
    from ..lit.module import SERModule

    kwargs = dict(card.get("model_kwargs", {}))
    kwargs.pop("weights", None)  # the zoo weights replace any ImageNet start
    if "pretrained" in kwargs:
        kwargs["pretrained"] = False
    return SERModule(
        model=card["model"],
        model_kwargs=kwargs,
        frontend=card["frontend"],
        num_classes=len(card["class_names"]),
        class_names=card["class_names"],
        sample_rate=card["sample_rate"],
        example_seconds=card["clip_seconds"],
    )


def load_pretrained(
    name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None, device: Optional[str] = None
):
    """A ready SERModule (eval mode) from a zoo checkpoint: ``load_pretrained("resnet18_ravdess").predict(path)``."""
    weights, card = resolve(name_or_path, zoo_dir)
    module = module_from_card(card)
    module.load_state_dict(verified_state_dict(weights, card), strict=False)
    module.card = card
    module.eval()
    return module.to(device) if device else module


def export_checkpoint(
    ckpt_path: Union[str, Path],
    name: str,
    out_dir: Optional[Union[str, Path]] = None,
    fp16: bool = True,
    card_extra: Optional[dict[str, Any]] = None,
) -> Path:
    """Turn a Lightning ``.ckpt`` from ``ser-zoo fit`` into ``<name>.safetensors`` + ``.json`` + ``.md``."""
    from ..lit.module import SERModule

    module = SERModule.load_from_checkpoint(str(ckpt_path), map_location="cpu")  # weights_only, CRC-checked
    h = module.hparams
    state = {
        k: v.detach().contiguous()
        for k, v in module.state_dict().items()
        if not k.startswith(("train_metrics", "val_metrics", "test_metrics", "confmat"))
    }
    if fp16:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    out = Path(out_dir or ZOO_DIR)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{name}.safetensors"
    # One metadata key: safetensors writes its metadata map in a random order, so two would make the bytes, and the
    # card's sha256, differ between exports of the same weights. The name lives in the card.
    save_file(state, str(weights), metadata={"format": "pt"})
    card = {
        "name": name,
        "model": h.model,
        "model_kwargs": dict(h.model_kwargs or {}),
        "frontend": module.frontend_spec,
        "class_names": list(module.class_names),
        "sample_rate": h.sample_rate,
        "clip_seconds": h.example_seconds,
        "params": sum(p.numel() for p in module.net.parameters()),
        "dtype": "float16" if fp16 else "float32",
        "sha256": sha256_file(weights),
        "size_bytes": weights.stat().st_size,
        "licence": LICENCE,
        **(card_extra or {}),
    }
    (out / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    (out / f"{name}.md").write_text(model_card_markdown(card))
    return weights


def model_card_markdown(card: dict[str, Any]) -> str:
    m = card.get("metrics", {})
    rows = "\n".join(f"| {k} | {v} |" for k, v in m.items()) or "| (not measured) | |"
    heard = (
        f"**Speakers heard:** {len(card['heard_speakers'])} (training and validation, including its starting "
        "checkpoint's; listed in the JSON card). Fine-tuning from it with `model.init_from` stops if the fold's "
        "test speakers include any of them.\n"
        if "heard_speakers" in card
        else ""
    )
    start = f"**Fine-tuned from:** zoo checkpoint `{card['init_from']}`.\n" if card.get("init_from") else ""
    return f"""# {card["name"]}

**Architecture:** `{card["model"]}` {json.dumps(card.get("model_kwargs", {}))}, {card["params"]:,} parameters, \
weights {card["dtype"]} ({card["size_bytes"] / 2**20:.1f} MiB).
**Front-end:** `{json.dumps(card["frontend"])}` at {card["sample_rate"]} Hz, {card["clip_seconds"]} s crops.
**Classes:** {", ".join(card["class_names"])}.
**Training data and protocol:** {card.get("data", "see the JSON card")}; protocol `{card.get("protocol", "?")}`.
{start}{heard}
| metric ({card.get("protocol", "?")}) | value |
|---|---|
{rows}

**Reproduce:** `{card.get("command", "?")}` (config `{card.get("config", "?")}`).
**sha256:** `{card["sha256"]}`

**Licence:** {card["licence"]}

```python
import ser_zoo
model = ser_zoo.load_pretrained("{card["name"]}")
model.predict("clip.wav")
```
"""


class FineTuneStart(NamedTuple):
    """What a fine-tuning start loaded: the tensors left freshly initialised and the card of the weights."""

    fresh: list[str]
    card: dict[str, Any]


def init_from_pretrained(
    module, name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None
) -> FineTuneStart:
    """Fine-tuning start: copy every zoo tensor whose shape fits; a new class set only replaces the head.

    Tensors whose shapes differ must be classifier ones (leading dimension = the old class count); anything
    else means a different architecture and fails. Returns the names left freshly initialised and the card
    (whose heard speakers the fit checks against its test fold).
    """
    weights, card = resolve(name_or_path, zoo_dir)
    if card["model"] != module.hparams.model:
        raise ConfigError(
            f"init_from '{name_or_path}' is a {card['model']} but the recipe builds "
            f"{module.hparams.model}; set model.model: {card['model']}"
        )
    state = verified_state_dict(weights, card)
    own = module.state_dict()
    old_classes = len(card["class_names"])
    fresh = []
    for k, v in list(state.items()):
        if k in own and own[k].shape != v.shape:
            if v.shape[0] != old_classes:
                raise ConfigError(
                    f"init_from '{name_or_path}': {k} has shape {tuple(v.shape)} but the model "
                    f"expects {tuple(own[k].shape)}; the front-end or model options differ from the card"
                )
            del state[k]
            fresh.append(k)
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [
        k for k in missing if k not in fresh and not k.startswith(("train_", "val_", "test_", "confmat"))
    ]
    if missing or unexpected:
        raise ConfigError(
            f"init_from '{name_or_path}' does not fit: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    return FineTuneStart(fresh, card)
