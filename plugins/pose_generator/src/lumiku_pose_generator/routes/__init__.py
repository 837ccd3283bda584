"""The plugin's HTTP routes, one module per concept, mounted under ``/api/apps/pose-generator``."""
