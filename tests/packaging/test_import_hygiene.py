"""What each program loads when it starts: its entry module imported in a fresh interpreter, and
the frameworks found in sys.modules afterwards.

The import contracts of pyproject.toml ([tool.importlinter]) check the imports written in the
code; this checks what really gets loaded, imports made inside functions aside: a store host has
no server framework installed and head office no Textual or OpenCV, so a program that loaded the
other host's libraries would not start where it is installed. The shared packages (the core, the
settings loader, the till's files) are imported whole, every module of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SERVER = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "jinja2", "segno", "PIL"}
TILL = {"textual", "cv2", "pyzbar", "zxingcpp", "numpy"}
HTTP = {"httpx"}

# entry module (or a shared package, imported whole) -> top-level packages it must not load
MUST_NOT_LOAD = {
    "central.cli": {"kiosk", "sync", "localdb", "textual", "cv2", "pyzbar", "numpy"},  # voucher-central
    "central.app": {"kiosk", "sync", "localdb", "textual", "cv2", "pyzbar", "numpy"},  # the server's app
    "sync.cli": {"kiosk", "central", *SERVER, *TILL},  # voucher-sync: headless, no server library
    "kiosk.cli": {"sync", "central", *SERVER, *HTTP},  # voucher-kiosk: talks to no server
    # voucher-hub: the server framework, but nothing of head office or its database, no screen
    "hub.cli": {"central", "kiosk", "sqlalchemy", "alembic", "psycopg", "jinja2", "segno", "PIL", *TILL},
    "hub.app": {"central", "kiosk", "sqlalchemy", "alembic", "psycopg", "jinja2", "segno", "PIL", *TILL},
    "vouchers": {
        "configfile",
        "localdb",
        "sync",
        "kiosk",
        "central",
        "sqlite3",
        "words",
        "babel",
        *SERVER,
        *TILL,
        *HTTP,
    },
    # every program words its messages with it: Babel and the core only
    "words": {"configfile", "localdb", "sync", "kiosk", "central", "hub", *SERVER, *TILL, *HTTP},
    "configfile": {"localdb", "sync", "kiosk", "central", *SERVER, *TILL, *HTTP},
    "localdb": {"sync", "kiosk", "central", *SERVER, *TILL, *HTTP},
}
WHOLE = {"vouchers", "configfile", "localdb", "words"}
# and, to show the check sees what is loaded, what one of them cannot do without
MUST_LOAD = {"central.app": {"fastapi", "sqlalchemy"}, "hub.app": {"fastapi", "httpx"}}

# Imports the named module (a package in WHOLE with every module in it) and prints the top-level
# packages of everything loaded.
LOADED = """
import importlib, json, pkgutil, sys
name, whole = sys.argv[1], sys.argv[2] == "whole"
package = importlib.import_module(name)
if whole:
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
print(json.dumps(sorted({m.partition(".")[0] for m in sys.modules})))
"""


def loaded_by(name: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED, name, "whole" if name in WHOLE else "entry"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,  # the server's app takes seconds to import on a busy two-core machine
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("name", sorted(MUST_NOT_LOAD))
def test_a_program_loads_no_framework_of_the_other_host(name):
    loaded = loaded_by(name)
    assert {name.partition(".")[0], *MUST_LOAD.get(name, ())} <= loaded
    assert loaded & MUST_NOT_LOAD[name] == set(), (
        f"importing {name} loads {sorted(loaded & MUST_NOT_LOAD[name])}"
    )
