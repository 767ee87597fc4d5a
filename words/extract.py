"""What each domain's messages are, read from the source with Babel's extractors (`make messages`).

A developer's tool, used by scripts/messages to write the catalogues and by the tests to check
them; the programs never run it. Templates are read by Jinja's own extractor, which Babel loads
by name only when there are templates to read.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file

from words.catalogues import DOMAINS

# the core's errors kept with their facts (vouchers.wording.said), worded by head office's front ends
CORE_ERRORS = (
    "vouchers/errors.py",
    "vouchers/validation.py",
    "vouchers/status.py",
    "vouchers/emails.py",
    "vouchers/ids.py",
    "vouchers/roles.py",
)

# head office's services and request models whose errors are kept with their facts, worded by the
# dashboard and the command line alike
SERVICE_ERRORS = (
    "central/services/batches.py",
    "central/services/vouchers.py",
    "central/services/customers.py",
    "central/services/problems.py",
    "central/services/staff.py",
    "central/schemas.py",
    "central/services/devices.py",
    "central/services/integrations.py",
    "central/services/ledger.py",
    "central/auth.py",
)

# each domain's files, as globs from the repository's root
SOURCES: dict[str, tuple[str, ...]] = {
    "verdicts": ("vouchers/codes.py", "words/verdicts.py"),
    "kiosk": ("kiosk/**/*.py", "localdb/**/*.py", "configfile/**/*.py", "words/ages.py"),
    "store": ("sync/**/*.py", "localdb/**/*.py", "hub/**/*.py", "configfile/**/*.py", "words/ages.py"),
    "members": (
        "central/templates/member/**/*.html",
        "central/templates/claim.html",
        "central/templates/home.html",
        "central/templates/base.html",
        "central/templates/_page_parts.html",
        "central/members/**/*.py",
        "central/routers/claims.py",
        "central/services/member_sign_in.py",
    ),
    "dashboard": (
        "central/templates/dashboard/**/*.html",
        "central/web/**/*.py",
        *SERVICE_ERRORS,
        *CORE_ERRORS,
        "words/ages.py",
    ),
    "central": (
        "central/cli/**/*.py",
        "configfile/**/*.py",
        "central/settings.py",
        "central/services/backup.py",
        *SERVICE_ERRORS,
        "central/demo.py",
        "harness/demo.py",
        *CORE_ERRORS,
    ),
    "argparse": (),  # Python's own argparse module (LIBRARY)
}
# a domain read from a module of Python's standard library: argparse writes its own words (usage:,
# options:, its error lines) through gettext, in the running Python's version of them
LIBRARY: dict[str, str] = {"argparse": "argparse"}
KEYWORDS = {**DEFAULT_KEYWORDS, "said": None}  # vouchers.wording.said: a message kept with its facts
JINJA = "jinja2.ext:babel_extract"
COMMENT_TAGS = ("TRANSLATORS:",)
PROJECT = "voucher-kiosk"


def files(domain: str, root: Path) -> Iterator[Path]:
    """The source files of one domain, in a stable order."""
    if domain in LIBRARY:
        spec = importlib.util.find_spec(LIBRARY[domain])
        if spec is not None and spec.origin:
            yield Path(spec.origin)
    seen: set[Path] = set()
    for pattern in SOURCES[domain]:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and path not in seen and "__pycache__" not in path.parts:
                seen.add(path)
                yield path


def extract(domain: str, root: Path) -> Catalog:
    """The domain's template: every message its source marks, with where it is and its comments."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}: one of {', '.join(DOMAINS)}")
    template = Catalog(domain=domain, project=PROJECT, fuzzy=False)
    for path in files(domain, root):
        method = "python" if path.suffix == ".py" else JINJA
        found = extract_from_file(
            method, path, keywords=KEYWORDS, comment_tags=COMMENT_TAGS, strip_comment_tags=True
        )
        for lineno, message, comments, context in found:
            where = (path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name, lineno)
            template.add(message, None, [where], auto_comments=comments, context=context)
    return template
