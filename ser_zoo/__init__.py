"""ser-zoo: speech emotion recognition models, honest speaker-independent protocols, Lightning training."""

from .errors import AudioError, ConfigError, SerZooError
from .models import create_model, list_models, model_entry, register_model
from .zoo import list_pretrained, list_zoo, load_pretrained

__version__ = "0.1.0"
__all__ = [
    "load_pretrained",
    "list_pretrained",
    "list_zoo",
    "create_model",
    "list_models",
    "model_entry",
    "register_model",
    "SerZooError",
    "AudioError",
    "ConfigError",
    "__version__",
]
