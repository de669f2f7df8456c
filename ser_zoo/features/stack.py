"""``stack``: image front-ends joined into one image, e.g. 64 log-mel rows + 2 CREPE pitch rows for ResNet18.

Rows (the default) append each part's feature rows under the previous ones: the result is still a 1-channel
image, so every 2-D model takes it unchanged (a 64-band log-mel plus ``crepe_pitch`` gives (B, 1, 66,
frames)).
Channels put parts of equal height side by side as input channels (set the model's ``in_chans`` to match).
Parts must share the frame grid (same hop and centring), which is checked at construction.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .base import FrontEnd
from .registry import create_frontend, register_frontend

PROBE = (16000, 48123)  # two clip lengths at which every part must give the same number of frames


@register_frontend("stack")
class Stack(FrontEnd):
    """Image front-ends joined along the frequency rows (``dim: rows``) or the channels (``dim: channels``).

    Args:
        parts (list of str or dict, optional): Image front-end specs, as ``create_frontend`` takes them, on
            one frame grid; None is ``[logmel(n_mels=64), crepe_pitch]``. (Default: ``None``)
        dim (str, optional): ``"rows"`` stacks each part's rows under the previous ones (parts need equal
            channels); ``"channels"`` puts parts side by side as channels (parts need equal rows).
            (Default: ``"rows"``)

    Shape:
        - wave: (B, T) and lengths: (B,) or None, passed to every part.
        - output: (B, C, sum of the parts' F, frames) for rows, (B, sum of the parts' C, F, frames) for
          channels; frames = 1 + T // hop_length.

    Example:
        >>> fe = Stack([{"name": "logmel", "n_mels": 64}, {"name": "mfcc", "n_mfcc": 20}])
        >>> fe(torch.randn(2, 16000)).shape
        torch.Size([2, 1, 84, 101])
        >>> Stack(["logmel", "logmel"], dim="channels").output_shape(16000)
        (2, 64, 101)
    """

    kind = "image"

    def __init__(
        self,
        parts: Optional[list[Union[str, dict[str, Any]]]] = None,
        dim: Literal["rows", "channels"] = "rows",
    ):
        super().__init__()
        if dim not in ("rows", "channels"):
            raise ConfigError(f"front-end 'stack': dim={dim!r}; use 'rows' or 'channels'")
        parts = list(parts or [{"name": "logmel", "n_mels": 64}, {"name": "crepe_pitch"}])
        self.parts = nn.ModuleList(create_frontend(p) for p in parts)
        self.dim = dim
        names = [p if isinstance(p, str) else p.get("name") for p in parts]
        for name, part in zip(names, self.parts):
            if getattr(part, "kind", None) != "image":
                raise ConfigError(f"front-end 'stack' joins images; part '{name}' gives {part.kind} features")
        for n in PROBE:
            shapes = [tuple(p.output_shape(n)) for p in self.parts]
            if len({s[-1] for s in shapes}) > 1:
                raise ConfigError(
                    f"front-end 'stack': parts {names} give {[s[-1] for s in shapes]} frames for "
                    f"{n} samples; use the same hop_length for every part"
                )
            other = 1 if dim == "channels" else 0  # the axis that must agree besides frames
            if len({s[other] for s in shapes}) > 1:
                axis = "rows" if dim == "channels" else "channels"
                raise ConfigError(
                    f"front-end 'stack' (dim: {dim}): parts {names} have {[s[other] for s in shapes]} "
                    f"{axis}; they must be equal"
                )

    def features(self, wave: Tensor, lengths: Optional[Tensor]) -> Tensor:
        return torch.cat([p(wave, lengths) for p in self.parts], 2 if self.dim == "rows" else 1)

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        shapes = [tuple(p.output_shape(num_samples)) for p in self.parts]
        axis = 1 if self.dim == "rows" else 0
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)
