"""``ser-zoo calibrate CKPT``: fit a fit checkpoint's temperature on its validation speakers, write a copy.

The checkpoint's saved data module (protocol, fold, classes, corpora, crop) is rebuilt on this machine's data
root; the model runs on the fold's validation speakers only, where one temperature is fitted
(``ser_zoo.calibration``); ECE and NLL are reported before and after on validation and on the test
speakers, which take no part in the fit. The copy is the input checkpoint plus a ``calibration`` block, so it
loads everywhere the input did (``load_module``, ``--ckpt_path``) and ``ser-zoo zoo export`` carries the block
to the zoo card. The input is never overwritten, nor an existing output without ``--overwrite``.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, Optional, Union

import torch

from .calibration import fit_temperature, scores_at
from .checkpoint_file import load_checkpoint_file
from .data.datamodule import SERDataModule
from .errors import ConfigError
from .lit.safe_ckpt import load_module
from .temperature import KEY

#: batch keys that are not per-clip inputs of a network
NOT_INPUTS = ("audio", "lengths", "label", "index", "start")


def calibrated_path(ckpt: Union[str, Path], out: Optional[Union[str, Path]], overwrite: bool) -> Path:
    """Where the calibrated copy goes (default: ``<stem>-calibrated.ckpt`` beside the input), checked."""
    src = Path(ckpt)
    dest = Path(out) if out else src.with_name(f"{src.stem}-calibrated{src.suffix or '.ckpt'}")
    if dest.resolve() == src.resolve():
        raise ConfigError(f"--out {dest} is the input checkpoint; write the calibrated copy to another path")
    if dest.exists() and not overwrite:
        raise ConfigError(f"{dest} exists; pass --overwrite to replace it, or choose another --out")
    return dest


def saved_datamodule(saved: dict[str, Any], where: str, root: Optional[str], batch_size: Optional[int]):
    """The checkpoint's data module, rebuilt with its saved settings on this machine's data root."""
    data = saved.get("datamodule_hyper_parameters") or {}
    if "protocol" not in data or "fold" not in data:
        raise ConfigError(
            f"{where}: no data-module settings saved in it, so its validation speakers are unknown; use a "
            "checkpoint written by ser-zoo fit or ser-zoo bench"
        )
    accepted = inspect.signature(SERDataModule).parameters
    kwargs = {k: v for k, v in data.items() if k in accepted}
    saved_root = kwargs.get("root")
    kwargs["root"] = root or (saved_root if saved_root and Path(saved_root).is_dir() else None)
    if kwargs.get("cache_dir") and not Path(kwargs["cache_dir"]).is_dir():
        kwargs["cache_dir"] = None  # another machine's cache: rebuild in this one's
    kwargs["num_workers"] = 0
    if batch_size:
        kwargs["batch_size"] = batch_size
    return SERDataModule(**kwargs)


@torch.no_grad()
def stage_logits(model, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, labels) of every clip of a stage, in loader order, without the model's temperature."""
    logits, labels = [], []
    for batch in loader:
        extra = {
            k: v.to(model.device) for k, v in batch.items() if k not in NOT_INPUTS and torch.is_tensor(v)
        }
        wave, lengths = batch["audio"].to(model.device), batch["lengths"].to(model.device)
        logits.append(model(wave, lengths, **extra).float().cpu())
        labels.append(batch["label"])
    if not logits:
        return torch.zeros(0, len(model.class_names)), torch.zeros(0, dtype=torch.long)
    return torch.cat(logits), torch.cat(labels)


def calibrate_checkpoint(
    ckpt: Union[str, Path],
    out: Optional[Union[str, Path]] = None,
    root: Optional[str] = None,
    batch_size: Optional[int] = None,
    device: Optional[str] = None,
    overwrite: bool = False,
    n_bins: int = 15,
) -> dict[str, Any]:
    """Fit the temperature of ``ckpt`` on its validation speakers and write the calibrated copy.

    Returns ``{"out", "protocol", "fold", "previous", KEY: block}``; the block (also in the copy) holds
    ``temperature``, validation ``nll_before/after``, ``ece_before/after``, ``clips``, ``n_bins``,
    ``fitted_on`` and ``test`` (the same scores on the test speakers, when the fold has any).
    """
    dest = calibrated_path(ckpt, out, overwrite)
    saved = load_checkpoint_file(ckpt, map_location="cpu")
    dm = saved_datamodule(saved, str(ckpt), root, batch_size)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_module(ckpt).to(device).eval()
    if list(dm.class_names) != list(model.class_names):
        raise ConfigError(
            f"{ckpt}: its data module's classes {list(dm.class_names)} differ from the model's "
            f"{list(model.class_names)}; the checkpoint's settings do not match this data"
        )
    dm.setup("validate")
    dm.setup("test")  # the scores on the test speakers too (on a fresh machine each stage decodes its own)
    protocol, fold = dm.protocol.name, dm.hparams.fold
    val_logits, val_labels = stage_logits(model, dm.val_dataloader())
    if not len(val_labels):
        raise ConfigError(
            f"{protocol} fold {fold} has no validation speakers; a temperature is fitted on held-out clips"
        )
    fit = fit_temperature(val_logits, val_labels, n_bins)
    block: dict[str, Any] = {
        "temperature": fit.temperature,
        "nll_before": fit.nll_before,
        "nll_after": fit.nll_after,
        "ece_before": fit.ece_before,
        "ece_after": fit.ece_after,
        "clips": fit.clips,
        "n_bins": n_bins,
        "fitted_on": f"validation speakers of {protocol} fold {fold} ({fit.clips} clips)",
    }
    test_logits, test_labels = stage_logits(model, dm.test_dataloader())
    if len(test_labels):
        before = scores_at(test_logits, test_labels, 1.0, n_bins)
        after = scores_at(test_logits, test_labels, fit.temperature, n_bins)
        block["test"] = {
            "nll_before": before["nll"],
            "nll_after": after["nll"],
            "ece_before": before["ece"],
            "ece_after": after["ece"],
            "clips": len(test_labels),
        }
    previous = (saved.get(KEY) or {}).get("temperature")
    saved[KEY] = block
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    torch.save(saved, partial)
    partial.replace(dest)  # a reader never sees half a checkpoint
    return {"out": dest, "protocol": protocol, "fold": fold, "previous": previous, KEY: block}


def format_calibration(ckpt: Union[str, Path], result: dict[str, Any]) -> str:
    """What ``ser-zoo calibrate`` prints: the temperature, then NLL and ECE before and after per stage."""
    block = result[KEY]
    rows = [("", "clips", "NLL before", "NLL after", "ECE before", "ECE after")]
    for name, b in (("validation", block), ("test", block.get("test"))):
        if b:
            rows.append(
                (
                    name,
                    str(b["clips"]),
                    *(f"{b[k]:.4f}" for k in ("nll_before", "nll_after", "ece_before", "ece_after")),
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    table = [
        "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    previous = result.get("previous")
    return "\n".join(
        [
            f"{ckpt}: temperature {block['temperature']:.4f}, fitted on the {block['fitted_on']}"
            + (f" (was {previous:.4f})" if previous is not None else ""),
            *table,
            *(["(no test speakers in this fold)"] if "test" not in block else []),
            f"ECE: top-label, {block['n_bins']} equal-width bins; the argmax (WA, UA, F1) is unchanged",
            f"wrote {result['out']}",
        ]
    )


def run_calibrate(ckpt: str, **kwargs: Any) -> int:
    """``ser-zoo calibrate``: calibrate, print the report."""
    if not Path(ckpt).is_file():
        raise ConfigError(f"checkpoint not found: {ckpt}")
    print(format_calibration(ckpt, calibrate_checkpoint(ckpt, **kwargs)))
    return 0
