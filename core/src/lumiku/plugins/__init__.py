"""The plugin system: specs, hookspecs, discovery, lifecycle states and contexts."""
