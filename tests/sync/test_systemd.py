"""The agent under systemd's notify protocol, with a real datagram socket standing in for systemd."""

from __future__ import annotations

import socket
import time

from harness import wait_for


def test_ready_status_watchdog_and_clean_sigterm(office, make_till, tmp_path):
    office.store("s1")
    office.batch(5, claimed=1)
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(0.2)
    till = make_till(start=False)
    till.agent.env.update(NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="900000")
    till.agent.start()
    messages: list[str] = []

    def received(prefix: str):
        def check():
            try:
                messages.extend(sock.recv(4096).decode().splitlines())
            except TimeoutError:
                pass
            return any(m.startswith(prefix) for m in messages)

        return check

    wait_for(received("READY=1"), 20, "READY")
    wait_for(received("WATCHDOG=1"), 10, "WATCHDOG")
    wait_for(received("STATUS=cursor"), 10, "a STATUS line with the cursor")
    till.redeem(_code(office))
    wait_for(received("STATUS=pushed 1"), 10, "a STATUS line about the push")
    assert messages.index("READY=1") < messages.index("WATCHDOG=1")
    start = time.monotonic()
    assert till.agent.stop() == 0
    assert time.monotonic() - start < 5
    wait_for(received("STOPPING=1"), 5, "STOPPING")
    sock.close()


def _code(office) -> str:
    [batch] = office.admin.get("/batches").json()
    [voucher] = office.admin.get(f"/batches/{batch['id']}/vouchers", params={"claimed": "true"}).json()[
        "vouchers"
    ]
    return voucher["code"]
