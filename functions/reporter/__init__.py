"""The reporter role: gathers one task's results and publishes the report."""
