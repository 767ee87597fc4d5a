"""`N_`: marks an English message for extraction into a catalogue, and returns it unchanged.

The core words nothing for people in any language (it imports no Babel): where it keeps a
message (why a text is not a code), the message is the catalogue's key, and each front end
translates it with the facts the core gives (words/verdicts.py).
"""

from __future__ import annotations


def N_(message: str) -> str:  # gettext's name for the marker: the extractor looks for it
    """The message itself: marked for `make messages`, translated later by the front end."""
    return message
