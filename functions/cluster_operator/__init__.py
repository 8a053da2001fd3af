"""The cluster operator role: read-only cluster queries and an allow-listed Job spawner."""
