"""Self-check of the throwaway PostgreSQL server helper."""

from __future__ import annotations

import threading

import pytest

from .postgres import PostgresServer, require_postgres_bin

pytestmark = pytest.mark.postgres


def _select_one(server: PostgresServer, dbname: str) -> int:
    import psycopg

    with psycopg.connect(server.conninfo(dbname)) as conn:
        return conn.execute("select 1").fetchone()[0]


def test_server_start_create_database_query_stop() -> None:
    bin_dir = require_postgres_bin()
    server = PostgresServer(bin_dir).start()
    root = server.root
    try:
        url = server.create_database("selfcheck")
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/selfcheck"
        assert _select_one(server, "selfcheck") == 1
        server.drop_database("selfcheck")
        server.drop_database("selfcheck")  # dropping a missing database is fine
    finally:
        server.stop()
    assert root is not None and not root.exists()


def test_two_servers_start_at_once() -> None:
    """As several xdist workers do: distinct ports and directories."""
    bin_dir = require_postgres_bin()
    servers = [PostgresServer(bin_dir) for _ in range(2)]
    errors: list[BaseException] = []

    def start(server: PostgresServer) -> None:
        try:
            server.start()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        assert servers[0].port != servers[1].port
        assert servers[0].root != servers[1].root
        for server in servers:
            assert _select_one(server, "postgres") == 1
    finally:
        for server in servers:
            server.stop()
