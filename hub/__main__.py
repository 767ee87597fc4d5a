"""python -m hub: the same as the voucher-hub command."""

from hub.cli import main

raise SystemExit(main())
