"""Test kit for Lumiku and its plugins; the pytest fixtures live in ``pytest_plugin``."""
