"""Benchmarks (see bench/README.md). `python -m bench` runs them all."""
