"""Command line of voucher-kiosk; the program itself arrives with its issue."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("voucher-kiosk is not built yet: see the open issues.", file=sys.stderr)
    return 2
