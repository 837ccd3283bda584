"""Lumiku plugin: Avatar Creator."""
