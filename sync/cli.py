"""Command line of voucher-sync; the program itself arrives with its issue."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("voucher-sync is not built yet: see the open issues.", file=sys.stderr)
    return 2
