"""Benchmarks of the Binks functions: agno vs crewai, same run, interleaved."""
