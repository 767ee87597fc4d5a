"""Store-host SQLite files: replica.db (agent) and journal.db (kiosk) (issue 3)."""
