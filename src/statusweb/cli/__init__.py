"""The operator's command line, `statusweb-admin`."""

# admin.py: the database, users, the runner, backups, Cloudflare's ranges; operations.py:
# maintenance windows and check-now; pages.py: organizations, pages, members, API tokens.
from statusweb.cli.admin import build_parser, main

__all__ = ["build_parser", "main"]
