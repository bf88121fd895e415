"""Shared PyTorch parts (imported only by deep methods; tiling.py and device.py import torch lazily)."""
