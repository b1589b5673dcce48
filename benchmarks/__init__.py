"""Benchmarks: Cairn's side of the shared registry harness (see README.md)."""
