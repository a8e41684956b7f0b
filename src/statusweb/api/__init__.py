"""Open interfaces other tools already speak: Statuspage's JSON, feeds, badges, metrics."""
