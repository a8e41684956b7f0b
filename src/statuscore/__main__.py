"""`python -m statuscore` is the `statuscore` command."""

import sys

from .cli import main

sys.exit(main())
