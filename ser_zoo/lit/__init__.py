from .module import SERModule, stage_metrics

__all__ = ["SERModule", "stage_metrics"]
