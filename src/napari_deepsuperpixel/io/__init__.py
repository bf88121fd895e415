"""Reading, preparing and writing images and labels (no napari imports)."""

from .prepare import PreparedImage, prepare_image, to_feature_space

__all__ = ["PreparedImage", "prepare_image", "to_feature_space"]
