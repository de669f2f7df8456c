"""Published checkpoints: safetensors + model cards, sha256-checked loading, fine-tuning starts."""

from ..finetune import init_from_pretrained
from ..weights import list_pretrained, list_zoo
from .checkpoints import export_checkpoint, load_pretrained

__all__ = ["export_checkpoint", "init_from_pretrained", "list_pretrained", "list_zoo", "load_pretrained"]
