"""Figures people look at: confusion matrices, the leaderboard's ranked bars, its models x classes heatmap."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def _save(fig, path: str | Path, dpi: int) -> Path:
    """Lay out, write and close a figure (closed, so report runs over many CSVs hold no figures open)."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_confusion_matrix(
    cm: torch.Tensor, class_names: list[str], path: str | Path, title: str = ""
) -> Path:
    """Row-normalised confusion matrix (recall per true class) with counts in each cell."""
    cm = torch.as_tensor(cm).float()
    norm = cm / cm.sum(1, keepdim=True).clamp(min=1)
    fig, ax = plt.subplots(figsize=(1 + 0.8 * len(class_names), 0.8 + 0.7 * len(class_names)))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            ax.text(
                j,
                i,
                f"{int(cm[i, j])}",
                ha="center",
                va="center",
                color="white" if norm[i, j] > 0.5 else "black",
                fontsize=8,
            )
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "confusion matrix (row-normalised colour, counts)", fontsize=10)
    return _save(fig, path, dpi=120)


def plot_heatmap(
    values: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    path: str | Path,
    title: str = "",
    colorbar_label: str = "",
    separator: int | None = None,
) -> Path:
    """Rows x columns of percentages, each cell annotated, one sequential colormap on a fixed 0-100 scale:
    many models read at a glance, where grouped bars need a colour per model and a legend that covers them. A
    line after row ``separator`` splits two groups (ranked models above, unranked ones below)."""
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    label_width = max((len(r) for r in row_labels), default=10)
    fig, ax = plt.subplots(figsize=(2.2 + 0.075 * label_width + 0.75 * cols, max(2.6, 1.3 + 0.36 * rows)))
    im = ax.imshow(values, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for i in range(rows):
        for j in range(cols):
            ax.text(
                j,
                i,
                f"{values[i, j]:.0f}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if values[i, j] > 60 else "white",
            )
    if separator is not None and 0 < separator < rows:
        ax.axhline(separator - 0.5, color="white", linewidth=3)
    ax.set_xticks(range(cols), col_labels, rotation=30, ha="right")
    ax.set_yticks(range(rows), row_labels, fontsize=8)
    ax.tick_params(length=0)
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02).set_label(colorbar_label)
    ax.set_title(title, fontsize=10)
    return _save(fig, path, dpi=110)


def plot_ranked_bars(
    labels: list[str],
    metrics: dict[str, tuple[list[float], list[float]]],
    path: str | Path,
    title: str = "",
    xlabel: str = "",
) -> Path:
    """Horizontal bars of the first metric (mean ± std), best at the top, the other metrics as markers on the
    same row: long model names stay level and readable, and no legend sits on the bars."""
    names = list(metrics)
    y = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.32 * len(labels)))
    means, stds = metrics[names[0]]
    ax.barh(y, means, xerr=stds, capsize=3, color="#4c72b0", height=0.6, label=f"{names[0]} (mean ± std)")
    for name, marker, colour in zip(names[1:], "oDs^", ("#dd8452", "#55a868", "#c44e52", "#8172b3")):
        ax.plot(metrics[name][0], y, marker, color=colour, mec="black", mew=0.5, ls="none", label=name)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    return _save(fig, path, dpi=110)
