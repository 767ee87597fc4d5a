"""The fleet simulation, small (issue 16.4; `python -m bench fleet` is the same at 1,000 tills):
fifty enrolled tills at two server processes on one PostgreSQL, each pulling with the live snapshot
(`wait=`), pushing a redemption every second or two (some of them conflicts with another till's,
some a request sent again) and sending heartbeats, over loopback for 10 seconds. Then nothing may
have failed, every event a till pushed must be in head office's ledger exactly once with the
outcome the till was told, and every till's waiting pull must have been woken by redemptions
and have caught up with the last one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from sqlalchemy import create_engine, text

from bench import fleet
from bench.common import start_together
from harness import HeadOffice, ServerProcess

TILLS = 50
PROCESSES = 2


@pytest.mark.postgres
@pytest.mark.slow
def test_fifty_tills_at_two_processes_every_push_acknowledged_once_and_every_pull_woken(
    postgres_server, tmp_path
):
    name = f"fleet_{uuid.uuid4().hex[:8]}"
    url = postgres_server.create_database(name)
    servers = start_together(
        [
            ServerProcess(url, log=tmp_path / f"central-{i + 1}.log", name=f"central-{i + 1}")
            for i in range(PROCESSES)
        ]
    )
    plan = fleet.Plan(
        tills=TILLS,
        seconds=10,
        push_every=1.5,  # each pause 0.75-2.25 s: about 300 pushes, fewer on a busy machine
        heartbeat_every=4,
        conflicts=0.15,
        duplicates=0.15,
        ramp=1,
        sample_seconds=1,
        progress_seconds=float("inf"),
    )
    try:
        with HeadOffice(servers[0]) as admin:
            setup = fleet.prepare(admin, servers, url, plan)
            fleet.start_at_head(setup)
            sim, out = asyncio.run(fleet.run_fleet(setup.tills, servers, plan))
            redeemed = admin.get(setup.batch_id)["metrics"]["redeemed"]

        assert not sim.errors, dict(sim.errors)
        assert not sim.unexpected, sim.unexpected[:5]
        assert sim.unanswered == 0
        assert all(t.pushed > 0 for t in setup.tills)  # (at least once each, however busy the machine)
        assert sim.outcomes["conflict"] + sim.outcomes["duplicate"] > 0, dict(sim.outcomes)

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, outcome FROM events WHERE kind = 'redeem'")).all()
                heard = conn.execute(
                    text("SELECT count(*) FROM devices WHERE last_heartbeat_at IS NOT NULL")
                ).scalar_one()
        finally:
            engine.dispose()
        ids = Counter(event_id for event_id, _ in rows)
        assert len(ids) == len(rows) == len(sim.told)  # each event recorded once, none lost or invented
        assert dict(rows) == sim.told  # with the outcome its till was told
        assert redeemed == sum(1 for outcome in sim.told.values() if outcome == "accepted")
        assert heard == TILLS

        not_woken = [t.index for t in setup.tills if t.woken == 0]
        assert not not_woken, f"tills whose pull no redemption woke: {not_woken}"
        assert out["behind"] == 0, f"{out['behind']} tills never caught up with the last redemption"
        for s in servers:
            assert not s.errors_in_log(), s.errors_in_log()[:3]
    finally:
        for s in servers:
            s.stop()
        postgres_server.drop_database(name)
