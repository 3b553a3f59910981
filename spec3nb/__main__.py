"""``python -m spec3nb`` runs the command line."""

import sys

from spec3nb.cli import main

sys.exit(main())
