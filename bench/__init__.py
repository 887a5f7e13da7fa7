"""Benchmarks of trialdash on synthetic trials (python -m bench); not part of the tests."""
