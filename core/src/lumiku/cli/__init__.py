"""The ``lumiku`` command line."""
