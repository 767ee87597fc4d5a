"""push_latency: (being written)"""
NAME = "push_latency"

def add_arguments(p):
    pass

def run(args):
    raise SystemExit("not yet")
