"""The code-reviewer role: reads a repository with confined tools and reports findings."""
