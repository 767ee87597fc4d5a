"""The line at the top of the cashier's screen: which shop and which till this is.

The shop is named as head office names it (the snapshot's `store`, docs/PROTOCOL.md), with its id;
an older head office sends no name, and then the id alone is shown. The till's name is the setting `till_name`, else the host name (`voucher-sync enrol`'s default device
name: the identity file keeps no name, and the kiosk reads nothing of it but the code hash key).
"""

from __future__ import annotations

import socket

from textual.widgets import Static

from kiosk import wording
from words import Words


def till_name(configured: str | None) -> str:
    return (configured or "").strip() or socket.gethostname()


class ShopLine(Static):
    def __init__(self, till: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.till = till
        self.store_id: str | None = None
        self.store_name: str | None = None
        self.words = wording.english()  # the till's, given by the screen

    def on_mount(self) -> None:
        self.show()

    def set_store(self, store_id: str | None, store_name: str | None = None) -> None:
        if (store_id, store_name) != (self.store_id, self.store_name):
            self.store_id, self.store_name = store_id, store_name
            self.show()

    def reword(self, words: Words) -> None:
        if words != self.words:
            self.words = words
            self.show()

    def show(self) -> None:
        words = self.words
        if self.store_id and self.store_name:
            shop = words.gettext("Shop {name} ({id})", name=self.store_name, id=self.store_id)
        elif self.store_id:
            shop = words.gettext("Shop {id}", id=self.store_id)
        else:
            shop = words.gettext("Shop not known yet (no voucher list)")
        self.update(words.gettext("{shop}  ·  Till {till}", shop=shop, till=self.till))
