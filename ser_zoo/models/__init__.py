"""Model families; importing this package fills the registry."""

from . import cnn, conv2d_mfcc, crnn, dummynet, encoders, exponet, fusionnet, mlp, rezonet, transfer  # noqa: F401
from .registry import ModelEntry, create_model, list_models, model_entry, register_model, takes_input_shape
from .sources import ModelSource
from .table import model_table

__all__ = [
    "ModelEntry",
    "ModelSource",
    "create_model",
    "list_models",
    "model_entry",
    "model_table",
    "register_model",
    "takes_input_shape",
]
