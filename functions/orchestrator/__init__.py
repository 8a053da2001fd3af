"""The orchestrator role: turns a person's goal into work events for the other roles."""
