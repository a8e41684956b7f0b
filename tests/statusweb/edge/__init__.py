"""edge/: what every request passes before a view."""
