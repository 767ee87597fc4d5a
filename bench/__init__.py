"""Benchmarks of the central server and the sync agent, run against real processes: python -m bench."""
