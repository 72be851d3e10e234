"""Benchmarks: run them directly (python -m bench.NAME); they print their figures."""
