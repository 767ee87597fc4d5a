"""Messages workers post back to the kiosk's screens (handled on the main thread)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from kiosk.service import Decision


@dataclass
class VerdictReady(Message):
    """A scan has been decided (and, if accepted, journaled)."""

    decision: Decision
