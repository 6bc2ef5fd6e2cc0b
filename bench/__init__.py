"""Benchmarks against the in-repo emulators: ``python -m bench`` (see bench/run.py)."""
