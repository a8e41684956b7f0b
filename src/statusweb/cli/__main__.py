"""`python -m statusweb.cli ...`: statusweb-admin without its console script."""

import sys

from statusweb.cli.admin import main

sys.exit(main())
