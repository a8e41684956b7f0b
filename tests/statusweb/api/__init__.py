"""api/: the open interfaces (Statuspage JSON, feeds, badges, metrics) and /api/v1."""
