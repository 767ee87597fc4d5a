"""Messages kept for people without wording them: `N_` marks one for extraction, `said` keeps one
with the facts that fill it.

The core words nothing for people in any language (it imports no Babel): where it keeps a
message (why a text is not a code, why an error was raised), the message is the catalogue's key,
in English, and each front end translates it with the facts the core gives (`words.Words.say`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def N_(message: str) -> str:  # gettext's name for the marker: the extractor looks for it
    """The message itself: marked for `make messages`, translated later by the front end."""
    return message


@dataclass(frozen=True)
class Said:
    """An English message template (a catalogue's key, `str.format` placeholders) and the facts
    that fill it; a fact may itself be `Said`, worded in the same language. `english()` is the
    message in English, for logs, head office's API and `--json`."""

    message: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    def english(self) -> str:
        facts = {k: v.english() if isinstance(v, Said) else v for k, v in self.facts.items()}
        return self.message.format(**facts) if facts else self.message

    def __str__(self) -> str:
        return self.english()

    def to_json(self) -> str:
        """For a file that keeps it (the agent's last error): `from_json` gives it back."""
        return json.dumps(_plain(self), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str | None) -> Said | None:
        """What `to_json` wrote; None for nothing, or for anything else (a file of another version)."""
        if not text:
            return None
        try:
            return _kept(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def _plain(value: Said) -> dict[str, Any]:
    facts = {k: {"said": _plain(v)} if isinstance(v, Said) else v for k, v in value.facts.items()}
    return {"message": value.message, "facts": facts}


def _kept(data: dict[str, Any]) -> Said:
    if not isinstance(data["message"], str):
        raise TypeError("a message is text")
    facts = {
        str(k): _kept(v["said"]) if isinstance(v, dict) else v
        for k, v in dict(data.get("facts") or {}).items()
    }
    return Said(data["message"], facts)


def said(message: str, /, **facts: Any) -> Said:
    """A message kept with its facts, marked for extraction (words/extract.py knows the name)."""
    return Said(message, facts)


def english(text: str | Said) -> str:
    """A message in English, whether kept with its facts or already words."""
    return text.english() if isinstance(text, Said) else text
