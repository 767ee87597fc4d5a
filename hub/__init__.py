"""voucher-hub: the shop's hub, for a shop with several tills (issue 15).

It runs on one machine of the shop's network and speaks docs/PROTOCOL.md's `/sync/*` to the
shop's tills exactly as head office does, while being itself a device of the store at head
office. It keeps head office's snapshot of the store and its own ledger of the tills' events in
one SQLite file (hub/store.py), decides first-wins among the shop's tills at once with head
office's own rules (hub/decisions.py), serves every till the others' redemptions through its own
change feed (hub/feed.py), and forwards every event to head office under the till that made it.
"""
