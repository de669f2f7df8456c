"""Device-side feature front-ends and their registry (see ``frontends`` for the interface)."""

from .frontends import (
    FRONTENDS,
    MFCC,
    Chroma,
    ClipStats,
    Concat,
    FrontEnd,
    LinearSpectrogram,
    LogMel,
    RMSEnergy,
    ZeroCrossingRate,
    create_frontend,
    list_frontends,
)

__all__ = [
    "FRONTENDS",
    "create_frontend",
    "list_frontends",
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
