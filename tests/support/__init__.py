"""Helpers the tests share, one module per subject (conftest.py modules hold only fixtures)."""
