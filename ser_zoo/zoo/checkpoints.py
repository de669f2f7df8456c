"""Zoo checkpoints: safetensors weights + a JSON card, checked against their sha256, never unpickled.

A zoo checkpoint is ``<name>.safetensors`` (a SERModule's net + front-end state, fp16 where accuracy
holds) beside ``<name>.json`` (everything needed to rebuild it: model, options, front-end, classes, sample
rate, crop, where the weights are published) and ``<name>.md`` (the human model card). ``load_pretrained``
rebuilds the module from the card and loads the weights once their sha256 matches (``ser_zoo.weights``, which
fetches them on first use); ``export_checkpoint`` writes all three from a fit. A calibrated fit (``ser-zoo
calibrate``) passes its ``calibration`` block (temperature, ECE before and after) to the card, and the loaded
module divides its logits by that temperature in ``predict``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

from safetensors.torch import save_file

from ..data.splits import get_protocol
from ..errors import ConfigError
from ..models.network import SERNet, load_network, without_start
from ..models.speaker_normalized import SpeakerNormalizedClassifier, is_speaker_normalized
from ..temperature import KEY as CALIBRATION
from ..temperature import temperature_of
from ..weights import resolve, sha256_file, verified_state_dict, weights_status, zoo_folder
from ..zoo_paths import DEFAULT_MODEL, hub_location, in_checkout
from .licence import LICENCE
from .speaker_normalized import speaker_normalized_markdown


def folds_run(count: int, protocol: Optional[str]) -> str:
    """``8 of 11``: how many of its protocol's folds a recipe's mean covers (the count alone where only the
    data knows the protocol's folds)."""
    try:
        total = get_protocol(protocol).known_folds() if protocol else None
    except ConfigError:  # a protocol this version does not know (a card from elsewhere)
        total = None
    return f"{count} of {total}" if total else str(count)


def zoo_table(cards: list[dict[str, Any]], zoo_dir: Optional[Union[str, Path]] = None) -> list[str]:
    """``ser-zoo zoo list``: one aligned row per card, with the checkpoint's own test-fold UA beside its
    recipe's mean over the folds run (the card's ``test_fold_ua`` and ``recipe_ua``), and where its weights
    are (``weights_status``); the default model of ``infer`` and ``listen`` is starred."""
    rows = [
        ("name", "model", "classes", "protocol", "fold", "test UA", "recipe UA (folds)", "MiB", "weights")
    ]
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
                + f" ({folds_run(len(r['folds']), c.get('recipe_protocol') or c.get('protocol'))}"
                + (f" {c['recipe_protocol']}" if c.get("recipe_protocol") else "")
                + ")"
            )
            if r
            else "-"
        )
        rows.append(
            (
                c["name"] + (" *" if c["name"] == DEFAULT_MODEL else ""),
                c["model"],
                str(len(c["class_names"])),
                c.get("protocol", "?"),
                str(c.get("fold", "-")),
                test,
                recipe,
                f"{c['size_bytes'] / 2**20:.1f}",
                weights_status(c, zoo_dir),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    later = [f"{c['name']} -> {c['superseded_by']}" for c in cards if c.get("superseded_by")]
    if later:
        lines.append(f"superseded (kept as fine-tuning starts and for reproduction): {', '.join(later)}")
    return lines + [
        "* the default --model of ser-zoo infer and listen. weights: here = shipped in the package (or the "
        "source checkout), cached = in $SER_ZOO_HOME, download = fetched on first use"
    ]


def module_from_card(card: dict[str, Any]) -> SERNet:
    """An untrained ``SERNet`` built exactly as the card describes (front-end included)."""
    return SERNet(
        model=card["model"],
        model_kwargs=without_start(card.get("model_kwargs")),
        frontend=card["frontend"],
        num_classes=len(card["class_names"]),
        class_names=card["class_names"],
        sample_rate=card["sample_rate"],
        example_seconds=card["clip_seconds"],
        side_frontend=card.get("side_frontend"),
    )


def load_pretrained(
    name_or_path: str, zoo_dir: Optional[Union[str, Path]] = None, device: Optional[str] = None
):
    """A ready ``SERNet`` (a plain ``nn.Module``, eval mode) from a zoo checkpoint: a zoo name
    (``list_pretrained()``; weights fetched into ``$SER_ZOO_HOME`` on first use), ``hf-hub:ORG/NAME`` or a
    ``.safetensors`` path with its card beside. To train from one, fine-tune with ``model.init_from: NAME``.

    Example: ``load_pretrained("resnet18_ravdess").predict("clip.wav")``. A speaker-normalised card
    (``kind: speaker_normalized``) gives a ``SpeakerNormalizedClassifier`` instead, which classifies a
    speaker's clips together (``predict_speaker``).
    """
    weights, card = resolve(name_or_path, zoo_dir)
    if is_speaker_normalized(card):
        return SpeakerNormalizedClassifier.from_state(verified_state_dict(weights, card), card)
    module = module_from_card(card)
    module.load_state_dict(verified_state_dict(weights, card), strict=False)
    module.card = card
    module.calibration = card.get(CALIBRATION)
    module.temperature = temperature_of(module.calibration, f"zoo card of {card['name']}")
    module.vad_trim = bool(card.get("vad_trim", False))
    module.eval()
    return module.to(device) if device else module


def export_checkpoint(
    ckpt_path: Union[str, Path],
    name: str,
    out_dir: Optional[Union[str, Path]] = None,
    fp16: bool = True,
    card_extra: Optional[dict[str, Any]] = None,
) -> Path:
    """Turn a Lightning ``.ckpt`` from ``ser-zoo fit`` into ``<name>.safetensors`` + ``.json`` + ``.md``, in
    ``out_dir`` (default: a source checkout's ``checkpoints/``, else ``./checkpoints``)."""
    module = load_network(ckpt_path)  # CRC-checked, weights_only
    h = module.hparams
    # a SERNet's state: front-end, net and side branch, nothing of training's metrics or augmentation
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    if fp16:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    out = zoo_folder(out_dir) if out_dir or in_checkout() else Path("checkpoints")
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{name}.safetensors"
    # One metadata key: safetensors writes its metadata map in a random order, so two would make the bytes,
    # and the card's sha256, differ between exports of the same weights. The name lives in the card.
    save_file(state, str(weights), metadata={"format": "pt"})
    card = {
        "name": name,
        "model": h.model,
        "model_kwargs": dict(h.model_kwargs or {}),
        "frontend": module.frontend_spec,
        **({"side_frontend": dict(h.side_frontend)} if h.get("side_frontend") else {}),
        "class_names": list(module.class_names),
        "sample_rate": h.sample_rate,
        "clip_seconds": h.example_seconds,
        "params": sum(p.numel() for p in module.net.parameters()),
        "dtype": "float16" if fp16 else "float32",
        "sha256": sha256_file(weights),
        "size_bytes": weights.stat().st_size,
        "licence": LICENCE,
        **hub_location(name),  # where `ser-zoo zoo push NAME --repo-id ser-zoo/NAME` publishes it
        **({CALIBRATION: module.calibration} if module.calibration else {}),
        **({"vad_trim": True} if module.vad_trim else {}),
        **(card_extra or {}),
    }
    (out / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    (out / f"{name}.md").write_text(model_card_markdown(card))
    return weights


def model_card_markdown(card: dict[str, Any], load_name: Optional[str] = None) -> str:
    """The human model card (``<name>.md``) of a zoo checkpoint's JSON card; ``load_name`` is what the usage
    example loads (default: the zoo name)."""
    if is_speaker_normalized(card):
        return speaker_normalized_markdown(card, load_name)
    m = card.get("metrics", {})
    rows = "\n".join(f"| {k} | {v} |" for k, v in m.items()) or "| (not measured) | |"
    heard = (
        f"**Speakers heard:** {len(card['heard_speakers'])} (training and validation, including its "
        "starting checkpoint's; listed in the JSON card). Fine-tuning from it with `model.init_from` stops "
        "if the fold's test speakers include any of them.\n"
        if "heard_speakers" in card
        else ""
    )
    start = f"**Fine-tuned from:** zoo checkpoint `{card['init_from']}`.\n" if card.get("init_from") else ""
    arch = (
        f"`{card['model']}` {json.dumps(card.get('model_kwargs', {}))}, {card['params']:,} parameters, "
        f"weights {card['dtype']} ({card['size_bytes'] / 2**20:.1f} MiB)"
    )
    protocol = card.get("protocol", "?")
    where = (
        f"**Weights:** {card['url']}"
        + (f" (Hugging Face Hub: `hf-hub:{card['hf_hub_id']}`)" if card.get("hf_hub_id") else "")
        + "; fetched on first use and checked against the sha256 above.\n"
        if card.get("url")
        else ""
    )
    notes = f"**Note:** {card['notes']}\n" if card.get("notes") else ""
    if card.get("superseded_by"):
        notes += (
            f"**Superseded by:** `{card['superseded_by']}`, a better recipe on the same protocol "
            "(`ser-zoo zoo list`); this one is kept as a fine-tuning start and for reproduction.\n"
        )
    seconds = card["clip_seconds"]
    trimmed = (
        " of clips cut to their speech by Silero VAD (`infer`, `listen` and `predict` cut input the same way)"
        if card.get("vad_trim")
        else ""
    )
    calibration = calibration_line(card.get(CALIBRATION))
    side = (
        f"**Side branch:** `{json.dumps(card['side_frontend'])}`, frozen, its linear head's logits added to "
        "the network's (needs `pip install 'ser-zoo[pretrained]'`).\n"
        if card.get("side_frontend")
        else ""
    )
    scope = "protocol named in each row" if card.get("recipe_protocol") else protocol
    return f"""# {card["name"]}

**Architecture:** {arch}.
**Front-end:** `{json.dumps(card["frontend"])}` at {card["sample_rate"]} Hz, {seconds} s crops{trimmed}.
{side}**Classes:** {", ".join(card["class_names"])}.
**Training data and protocol:** {card.get("data", "see the JSON card")}; protocol `{protocol}`.
{start}{heard}{calibration}
| metric ({scope}) | value |
|---|---|
{rows}

**Reproduce:** `{card.get("command", "?")}` (config `{card.get("config", "?")}`).
**sha256:** `{card["sha256"]}`
{where}{notes}
**Licence:** {card["licence"]}

```python
import ser_zoo

model = ser_zoo.load_pretrained("{load_name or card["name"]}")
model.predict("clip.wav")
```
"""


def calibration_line(block: Optional[dict[str, Any]]) -> str:
    """The model card's calibration line: the temperature, where it was fitted, ECE before and after."""
    if not block:
        return ""
    test = block.get("test") or {}
    scores = [
        f"{where} ECE {b['ece_before'] * 100:.2f} % -> {b['ece_after'] * 100:.2f} %"
        for where, b in (("validation", block), ("test", test))
        if "ece_before" in b and "ece_after" in b
    ]
    return (
        f"**Calibration:** temperature {block['temperature']:.3f}, fitted on the "
        f"{block.get('fitted_on', 'validation speakers')}"
        + (f"; {', '.join(scores)}" if scores else "")
        + f" ({block.get('n_bins', 15)} bins); `predict` returns softmax(logits / temperature).\n"
    )
