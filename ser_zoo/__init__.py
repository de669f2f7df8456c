"""ser-zoo: speech emotion recognition models, honest speaker-independent protocols, Lightning training."""

from .errors import AudioError, ConfigError, SerZooError
from .models import create_model, list_models, model_entry, register_model

__version__ = "0.1.0"
__all__ = ["create_model", "list_models", "model_entry", "register_model", "SerZooError", "AudioError",
           "ConfigError", "__version__"]
