"""Lumiku: the public facade for plugin authors. Import from here, never from submodules."""
