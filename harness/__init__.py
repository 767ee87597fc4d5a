"""Starting and driving the programs from outside, shared by tests/, bench/ and scripts/demo.

Not shipped in the wheel and imported by no shipped package: it is the test bench around them.

    processes  Child: a program as a child process that dies with us (own process group, a
               parent-death signal); start-up deadlines that hold on a busy machine; Lifeline,
               a guard for what daemonises (tmux, PostgreSQL's pg_ctl)
    server     ServerProcess: `voucher-central serve` on a free loopback port
    office     HeadOffice: staff's side of the API (stores, batches, claims), on central.client
    agent      AgentProcess: `voucher-sync enrol / run / status` with its own data directory
    hub        HubProcess: `voucher-hub enrol / serve` (a shop's hub) with its own state directory
    claims     claiming vouchers in bulk straight in head office's database (tests and benchmarks)
    terminal   TmuxTerminal: the kiosk in a real terminal, its screen read and keys typed
    demo       the whole system as a demo (what `make demo` runs)
"""

from harness.agent import FAST, FAST_ENV, AgentProcess
from harness.hub import FAST_HUB, HubProcess
from harness.office import HeadOffice
from harness.processes import BIN, START_DEADLINE, Child, StartFailed, free_port, program, spawn, wait_for
from harness.server import ADMIN_TOKEN, RELAXED_LIMITS, ServerProcess

__all__ = [
    "ADMIN_TOKEN",
    "BIN",
    "FAST",
    "FAST_ENV",
    "FAST_HUB",
    "RELAXED_LIMITS",
    "START_DEADLINE",
    "AgentProcess",
    "Child",
    "HeadOffice",
    "HubProcess",
    "ServerProcess",
    "StartFailed",
    "free_port",
    "program",
    "spawn",
    "wait_for",
]
