"""The hub's side towards head office: five loops, each in its own thread, each retrying for ever.

    pull       HO's snapshot pages into hub.db (sync.pages.Pages: a page fetched ahead while one
               is applied, and once caught up a pull that waits for a change), each applied with
               the number of the pull it belongs to (hub/store.py: what a complete pull reflects)
    push       the tills' events not yet answered by HO, in batches, under the hub's own token
               (each names the till that made it); woken at once by a till's upload
    devices    the store's device list (token hashes, revocations) every few seconds
    heartbeat  the hub's own heartbeat (pending = events not yet forwarded)
    relay      the tills' heartbeats, each sent on with that till's own Authorization header
               (the latest per till; dropped when head office does not take it)

Every failure is logged in words and retried after a capped, jittered backoff (sync/backoff.py).
A 401 to the hub's own token means head office revoked the hub: the loops stop and the app
answers the tills 503 with words (a 401 would make a till wipe its snapshot). `stop` ends every
loop at once, a waiting pull included.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from hub.feed import PageOutOfOrder
from hub.settings import HubSettings
from hub.store import HubStore
from localdb.identity import Identity
from sync import backoff
from sync.client import API, SyncClient
from sync.errors import BatchRefused, RetryLater, Revoked, SyncError, Transient
from sync.pages import Pages, Stopped
from vouchers.wire import DevicesResponse, Event, EventResult, HeartbeatRequest

log = logging.getLogger("voucher-hub")
DEVICES_AT_MOST_EVERY = 1.0  # seconds: an unknown token refreshes the device list no more often


class HubClient(SyncClient):
    """The agent's client, plus what only a hub asks: the store's device list."""

    def devices(self) -> DevicesResponse:
        body = self._send("GET", "/sync/devices")
        try:
            return DevicesResponse.from_wire(body)
        except ValueError as exc:
            raise Transient(f"malformed device list from head office ({exc})") from None


@dataclass(frozen=True)
class Passed:
    """Head office's answer to a request the hub passed on as it came (an enrolment)."""

    status: int
    content_type: str
    body: bytes


class Upstream:
    def __init__(
        self,
        settings: HubSettings,
        identity: Identity,
        store: HubStore,
        *,
        on_change: Callable[[], None] = lambda: None,
        version: str = "0",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.store = store
        self.on_change = on_change
        self.version = version
        self.server = (settings.server or identity.server).rstrip("/")
        verify: bool | str = str(settings.ca_bundle) if settings.ca_bundle else True
        self.client = HubClient(
            self.server, identity.token, timeout=settings.timeout_seconds, verify=verify, transport=transport
        )
        # without the hub's token: enrolments and the tills' heartbeats carry their own (or none)
        self.anonymous = httpx.Client(
            base_url=self.server, timeout=settings.timeout_seconds, verify=verify, transport=transport
        )
        self.stop_event = threading.Event()
        self.revoked: str | None = None  # why, once head office refused the hub's own token
        self.last_pull_at: datetime | None = None
        self.last_push_at: datetime | None = None
        self.last_contact_at: datetime | None = None
        self.last_error: str | None = None
        self._push_wake = threading.Event()
        self._relay_wake = threading.Event()
        self._relays: dict[str, tuple[str, bytes]] = {}  # till -> (its Authorization header, body)
        self._relay_lock = threading.Lock()
        self._devices_lock = threading.Lock()
        self._devices_tried = float("-inf")  # when the last refresh started (monotonic)
        self._devices_fresh = float("-inf")  # when the last refresh that succeeded started
        self._pull: int | None = None  # the number of the pull under way (None: the next page starts one)
        self._pages = Pages(
            lambda cursor, wait: self.client.snapshot(cursor, settings.page_limit, wait=wait),
            wait_seconds=settings.live_wait_seconds,
            wait_gap_seconds=settings.live_wait_gap_seconds,
            stop=self.stop_event,
            live_seconds=settings.pull_interval_seconds,
        )
        self._threads: list[threading.Thread] = []

    # --- running ------------------------------------------------------------------------------

    def start(self) -> None:
        loops: dict[str, tuple[Callable[[], bool], float, threading.Event | None]] = {
            "pull": (self.pull_step, self.settings.pull_interval_seconds, None),
            "push": (self.push_step, self.settings.push_poll_seconds, self._push_wake),
            "devices": (self.devices_step, self.settings.devices_seconds, None),
            "heartbeat": (self.heartbeat_step, self.settings.heartbeat_seconds, None),
            "relay": (self.relay_step, self.settings.heartbeat_seconds, self._relay_wake),
        }
        for name, (step, idle, wake) in loops.items():
            thread = threading.Thread(
                target=self._loop, args=(name, step, idle, wake), name=f"hub-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, grace: float = 5.0) -> None:
        """Every loop ends: each finishes the step it is in, for `grace` seconds in all (a request
        to head office still running then is left to its daemon thread: an upload whose answer is
        not recorded is sent again at the next start, and head office answers it `duplicate`)."""
        self.stop_event.set()
        self._push_wake.set()
        self._relay_wake.set()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.client.close()
        self.anonymous.close()

    def wake_push(self) -> None:
        """A till uploaded events: forward them now, not at the next poll."""
        self._push_wake.set()

    @property
    def running(self) -> bool:
        return not self.stop_event.is_set() and self.revoked is None

    def _loop(self, name: str, step: Callable[[], bool], idle: float, wake: threading.Event | None) -> None:
        """One step after another until stopped; whatever a step raises, the loop goes on after a
        backoff. `wake` (set by another thread) ends an idle pause early; it is cleared before each
        step, so a wake-up during a step is never lost."""
        attempt, said = 0, ""
        while self.running:
            if wake is not None:
                wake.clear()
            try:
                busy = step()
                attempt, wait = 0, 0.0 if busy else idle
            except Revoked as exc:
                self._hub_revoked(exc)
                return
            except Stopped:
                return
            except Exception as exc:
                attempt += 1
                wait = backoff.delay(
                    attempt,
                    initial=self.settings.backoff_initial_seconds,
                    cap=self.settings.backoff_max_seconds,
                )
                if isinstance(exc, RetryLater):
                    wait = max(wait, exc.seconds)
                if isinstance(exc, (SyncError, PageOutOfOrder)):
                    text = f"{name}: {exc}"
                    log.warning("%s (retrying in %.1f s)", text, wait)
                else:  # a bug, a damaged or full disk: its traceback once, in the log only
                    text = f"{name}: {exc.__class__.__name__}: {exc}"
                    if text != said:
                        log.exception("%s (retrying in %.1f s)", text, wait)
                    else:
                        log.warning("%s (retrying in %.1f s)", text, wait)
                said = self.last_error = text
            if not self.running:
                return
            if wake is None:
                self.stop_event.wait(wait)
            elif wait:
                wake.wait(wait)

    def _contact(self) -> datetime:
        self.last_contact_at = now = datetime.now(UTC)
        return now

    def _hub_revoked(self, exc: Revoked) -> None:
        if self.revoked is None:
            self.revoked = (
                f"head office refused the hub's own token ({exc.detail}): the hub was revoked. The tills "
                "decide alone until it is enrolled again (voucher-hub enrol CODE, with a hub code)."
            )
            log.error("%s", self.revoked)
        self._push_wake.set()
        self._relay_wake.set()

    # --- the five steps -----------------------------------------------------------------------

    def pull_step(self) -> bool:
        """Apply the next page of head office's snapshot; True while more pages wait (or the next
        pull waits at head office for a change, so it is asked again at once)."""
        if self._pull is None:
            self._pull = self.store.begin_pull()
        _, page = self._pages.next(self.store.upstream_cursor(), None)
        if self.stop_event.is_set():
            return False
        self.store.apply_upstream(page, self._pull)
        self.last_pull_at = self._contact()
        if page.complete:
            self._pull = None
        changed = len(page.batches) + len(page.types) + len(page.vouchers) + len(page.problems)
        if changed or not page.complete:
            log.info("pulled %d changes from head office, cursor %d", changed, page.next_cursor)
        self.on_change()  # (a complete pull may also make the tills' events reflected)
        return not page.complete or self._pages.waits_next()

    def push_step(self) -> bool:
        """Forward one batch of the events head office has not answered; True when more may wait."""
        events = self.store.unforwarded(self.settings.push_batch)
        if not events:
            return False
        try:
            results = self.client.push(events)
        except BatchRefused as exc:
            results = self._one_by_one(events, exc)
        self.store.record_forwarded(results)
        self.last_push_at = self._contact()
        self.on_change()
        counts = {
            o: sum(r.outcome == o for r in results) for o in ("accepted", "duplicate", "conflict", "rejected")
        }
        log.info(
            "forwarded %d events to head office: %s",
            len(events),
            ", ".join(f"{n} {o}" for o, n in counts.items() if n),
        )
        return len(events) >= self.settings.push_batch

    def _one_by_one(self, events: Sequence[Event], first: BatchRefused) -> list[EventResult]:
        """Head office refused the batch as malformed: the event(s) it refuses are recorded as
        rejected (kept in the ledger, never sent again), the others go through."""
        log.warning("head office refused an upload as a whole (%s); sending one by one", first.detail)
        return self.client.push_each(events)

    def devices_step(self) -> bool:
        with self._devices_lock:
            self._refresh_devices()
        return False

    def _refresh_devices(self) -> None:
        """The store's devices from head office into hub.db (the caller holds _devices_lock)."""
        started = time.monotonic()
        self._devices_tried = started
        answer = self.client.devices()
        self._contact()
        self.store.set_devices(answer.devices)
        self._devices_fresh = started

    def devices_known_since(self, asked: float) -> bool:
        """Make sure the device list was fetched after the moment `asked` (time.monotonic()): for
        a token the hub does not know, a till enrolled since the last refresh. At most one fetch a
        second, shared by every request waiting for one. False when head office cannot be reached
        (or refuses the hub): the token can be neither accepted nor refused."""
        # a request waits for the refresh under way at most one request's timeout (it holds a
        # worker thread of the app meanwhile), then is answered 503
        if not self._devices_lock.acquire(timeout=self.settings.timeout_seconds):
            return self._devices_fresh >= asked
        try:
            if self._devices_fresh >= asked:
                return True
            pause = self._devices_tried + DEVICES_AT_MOST_EVERY - time.monotonic()
            if pause > 0 and self.stop_event.wait(pause):
                return False
            try:
                self._refresh_devices()
            except Revoked as exc:
                self._hub_revoked(exc)
                return False
            except SyncError as exc:
                log.warning("devices: cannot refresh the device list for an unknown token (%s)", exc)
                return False
            return True
        finally:
            self._devices_lock.release()

    def heartbeat_step(self) -> bool:
        self.client.heartbeat(
            HeartbeatRequest(
                version=self.version,
                pending=self.store.pending(),
                last_pull_at=self.last_pull_at,
                last_push_at=self.last_push_at,
                snapshot_cursor=self.store.upstream_cursor(),
                device_time=datetime.now(UTC),
            )
        )
        self._contact()
        return False

    def relay(self, device_id: str, authorization: str, body: HeartbeatRequest) -> None:
        """Send a till's heartbeat on to head office under its own token (soon, in the background;
        only the latest of each till waits)."""
        with self._relay_lock:
            self._relays[device_id] = (authorization, json.dumps(body.to_wire()).encode())
        self._relay_wake.set()

    def relay_step(self) -> bool:
        with self._relay_lock:
            waiting, self._relays = self._relays, {}
        for device_id, (authorization, body) in waiting.items():
            if not self.running:
                return False
            try:
                answer = self.anonymous.post(
                    f"{API}/sync/heartbeat",
                    content=body,
                    headers={"Authorization": authorization, "Content-Type": "application/json"},
                )
            except httpx.HTTPError as exc:
                log.info(
                    "relay: till %s's heartbeat not passed on (%s: %s)",
                    device_id,
                    exc.__class__.__name__,
                    exc,
                )
                continue
            if answer.status_code == 401:  # head office revoked that till: the hub refuses it from now on
                log.info(
                    "relay: head office refused till %s's token; reading the device list again", device_id
                )
                self._contact()
                self.devices_known_since(time.monotonic())
            elif answer.status_code >= 300:
                log.info(
                    "relay: head office answered till %s's heartbeat with HTTP %d",
                    device_id,
                    answer.status_code,
                )
            else:
                self._contact()
        return False

    # --- passed on as it came -----------------------------------------------------------------

    def pass_enrolment(self, body: bytes, content_type: str | None) -> Passed:
        """A till's enrolment, sent to head office as it came, and head office's answer as it is;
        Transient when head office cannot be reached."""
        headers = {"Content-Type": content_type or "application/json"}
        try:
            answer = self.anonymous.post(f"{API}/devices/enrol", content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Transient(f"POST /devices/enrol: {exc.__class__.__name__}: {exc}") from None
        self._contact()
        return Passed(
            answer.status_code, answer.headers.get("content-type", "application/json"), answer.content
        )
