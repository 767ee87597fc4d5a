"""A misbehaving network on loopback: a one-request-per-connection HTTP proxy that refuses,
stalls, resets mid-body, drops the answer after the server committed, or answers 500/429 or
garbage itself, as a plan chooses for each request (given its request line)."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable

FAULTS = (
    "pass",
    "refuse",
    "stall",
    "reset_mid_body",
    "drop_after_commit",
    "http500",
    "http429",
    "garbage",
    "wrong_shape",
)


def _response(status: str, body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        f"connection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


class FaultProxy:
    def __init__(
        self, upstream_port: int, plan: Callable[[bytes], str] | None = None, *, stall_seconds: float = 5
    ) -> None:
        self.upstream_port = upstream_port
        self.plan = plan or (lambda request_line: "pass")
        self.stall_seconds = stall_seconds
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[float, bytes, str]] = []  # (monotonic time, request line, fault)
        self.retry_after = "0"
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @classmethod
    def random(cls, upstream_port: int, seed: int, fault_rate: float, **kw) -> FaultProxy:
        rng = random.Random(seed)
        proxy = cls(upstream_port, **kw)
        proxy.plan = lambda _: (
            rng.choice(FAULTS[1:]) if proxy.faulty and rng.random() < fault_rate else "pass"
        )
        return proxy

    faulty = True

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            with client:
                request = _read_request(client)
                if request is None:
                    return
                line = request.split(b"\r\n", 1)[0]
                fault = self.plan(line)
                self.counts[fault] += 1
                self.log.append((time.monotonic(), line, fault))
                if fault == "refuse":
                    _reset(client)
                    return
                if fault == "stall":
                    time.sleep(self.stall_seconds)
                    return
                if fault == "http500":
                    client.sendall(_response("500 Internal Server Error", b'{"detail":"injected"}'))
                    return
                if fault == "http429":
                    client.sendall(
                        _response(
                            "429 Too Many Requests",
                            b'{"detail":"slow down"}',
                            extra=f"retry-after: {self.retry_after}\r\n",
                        )
                    )
                    return
                if fault == "garbage":
                    client.sendall(_response("200 OK", b'{"cursor": 0, "results": [tru'))
                    return
                if fault == "wrong_shape":
                    client.sendall(_response("200 OK", b'{"results": "none", "cursor": "x"}'))
                    return
                answer = self._forward(request)
                if fault == "drop_after_commit":
                    return  # the server has done the work; the client never hears
                if fault == "reset_mid_body":
                    client.sendall(answer[: max(1, len(answer) // 2)])
                    _reset(client)
                    return
                client.sendall(answer)
        except OSError:
            pass

    def _forward(self, request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30) as upstream:
            upstream.sendall(request)
            chunks = []
            while chunk := upstream.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def _read_request(sock: socket.socket) -> bytes | None:
    """One HTTP request with its body, rewritten to Connection: close."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + body


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
