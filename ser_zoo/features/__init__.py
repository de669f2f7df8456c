"""Device-side feature front-ends and their registry; importing this package fills the registry.

``frontends`` holds the librosa-parity spectrogram and frame features, ``pooled`` the clip-mean vectors,
``crepe`` and ``ge2e`` the pretrained networks (their packages load only when one is built), ``stack`` the
joined images, ``waveform`` the raw samples the speech encoders read (their per-clip layer cache is
``hidden_cache``); ``functional`` holds the signal helpers they share, ``registry`` the name -> class table.
"""

from . import crepe, frontends, ge2e, pooled, stack, waveform  # noqa: F401  (each registers its front-ends)
from .base import FrontEnd
from .frontends import (
    MFCC,
    Chroma,
    ClipStats,
    Concat,
    LinearSpectrogram,
    LogMel,
    RMSEnergy,
    ZeroCrossingRate,
)
from .registry import FRONTENDS, create_frontend, list_frontends, register_frontend

__all__ = [
    "FRONTENDS",
    "create_frontend",
    "list_frontends",
    "register_frontend",
    "FrontEnd",
    "LogMel",
    "MFCC",
    "LinearSpectrogram",
    "ZeroCrossingRate",
    "RMSEnergy",
    "Chroma",
    "ClipStats",
    "Concat",
]
