"""`python -m quirkymad inspect PATH`: see quirkymad/cli.py."""

import sys

from quirkymad.cli import main

sys.exit(main())
