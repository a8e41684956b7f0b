"""services/: the domain logic views, the API, the CLI and the runner share."""
