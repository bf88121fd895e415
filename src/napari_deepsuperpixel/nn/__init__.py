"""Shared PyTorch parts (imported only by deep methods)."""
