"""Importable test helpers (fixtures stay in conftest.py files)."""
