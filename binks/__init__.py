"""The Binks command line: run functions, the demo and the benchmark from one place."""
