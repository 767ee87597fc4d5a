"""push_backlog: (being written)"""
NAME = "push_backlog"

def add_arguments(p):
    pass

def run(args):
    raise SystemExit("not yet")
