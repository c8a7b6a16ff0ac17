"""Benchmarks (not part of the saraban package); see bench/README.md."""
