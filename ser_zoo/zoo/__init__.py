"""Published checkpoints: safetensors + model cards, sha256-checked loading, fine-tuning starts."""

from .checkpoints import export_checkpoint, init_from_pretrained, list_zoo, load_pretrained

__all__ = ["export_checkpoint", "init_from_pretrained", "list_zoo", "load_pretrained"]
