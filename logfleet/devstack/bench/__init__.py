"""Benchmarks that compare a part with its ceiling or peer measured in the same run, printing JSON."""
