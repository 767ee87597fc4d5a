"""HTTP routes by area; each handler validates, calls a service in one transaction, answers."""
