"""Benchmarks of the central server, run against real server processes: python -m bench."""
