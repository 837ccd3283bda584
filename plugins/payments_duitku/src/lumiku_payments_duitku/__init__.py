"""Lumiku plugin: Duitku Payments."""
