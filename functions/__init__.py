"""Binks agent roles, one package each, with their agno and crewai entry points."""
