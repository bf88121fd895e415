"""The package version (one place; the package root and the checkpoint/cache metadata read it)."""

__version__ = "0.1.0"
