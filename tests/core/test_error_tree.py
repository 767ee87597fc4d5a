"""The error tree drawn at the top of vouchers/errors.py is the code's: every class deriving from
VoucherError, in every package, under its base and with its module; and no error class carries an
HTTP status (central/problems.py keeps them, tested in tests/central/test_bad_input.py)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import vouchers.errors
from vouchers.errors import VoucherError

PACKAGES = ("vouchers", "configfile", "localdb", "sync", "kiosk", "central", "hub")


def every_error() -> list[type[VoucherError]]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" not in module.name and not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    found, todo = [], [VoucherError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return found


def drawn() -> set[tuple[str, str | None, str]]:
    """(class, its base, its module) for every line of the drawing."""
    lines = [line for line in vouchers.errors.__doc__.splitlines() if re.match(r"\s+[│├└ ─]*[A-Z]\w+", line)]
    start = next(i for i, line in enumerate(lines) if line.strip() == "VoucherError")
    indent = len(lines[start]) - len(lines[start].lstrip())
    parents: list[str] = []
    tree = set()
    for line in lines[start:]:
        match = re.match(r"([│├└─ ]*)(\w+)\s*([\w.]*)", line[indent:])
        assert match, line
        depth = len(match[1]) // 4
        del parents[depth:]
        tree.add((match[2], parents[-1] if parents else None, match[3] or "vouchers.errors"))
        parents.append(match[2])
    return tree


def test_the_drawing_shows_every_error_under_its_base():
    errors = every_error()
    actual = {
        (e.__name__, e.__base__.__name__ if e is not VoucherError else None, e.__module__) for e in errors
    }
    assert drawn() == actual, (
        "vouchers/errors.py's tree differs from the code: "
        f"not drawn {sorted(actual - drawn())}, drawn but not in the code {sorted(drawn() - actual)}"
    )


def test_no_error_class_carries_an_http_status():
    assert [e for e in every_error() if "status" in vars(e)] == []
