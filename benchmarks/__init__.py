"""Benchmarks: BC requests per operation, cold start. Run with `python -m benchmarks` (or `make bench`)."""
