"""``python -m synthloom``."""

import sys

from synthloom.cli import main

sys.exit(main())
