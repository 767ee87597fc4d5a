"""python -m central.cli: the same as voucher-central."""

import sys

from central.cli import main

sys.exit(main())
