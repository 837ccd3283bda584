"""Shared fixtures of the cross-package tests."""
