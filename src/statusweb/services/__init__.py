"""Domain logic that views, the API, the CLI and the runner share: incidents, maintenance,
organizations, sign-ins, forms and the rules on passwords and access."""
