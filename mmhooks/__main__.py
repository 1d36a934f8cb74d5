"""``python -m mmhooks`` runs the command line."""

import sys

from mmhooks.cli import main

sys.exit(main())
