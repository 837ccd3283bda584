"""Lumiku plugin: Pose Generator."""
