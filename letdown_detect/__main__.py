"""``python -m letdown_detect`` runs the ``letdown`` command."""

import sys

from .cli import main

sys.exit(main())
