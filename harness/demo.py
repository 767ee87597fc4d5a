"""The whole system as a demo (`make demo`, scripts/demo): head office (`voucher-central demo`:
a server on SQLite seeded with demo batches), an enrolled till with its sync agent, and the
cashier's screen in this terminal. Quitting the kiosk (Ctrl+Q) stops everything it started;
so does killing the demo, even with SIGKILL (harness.processes).

`DEMO_TILLS=2` (`make demo DEMO_TILLS=2`): a shop with two tills behind its hub, in tmux on a
private socket: head office, the shop's hub (`voucher-hub serve`, enrolled with a hub code) and
two tills, each its own sync agent (whose `server` is the hub) and kiosk, side by side. This
terminal attaches to that tmux session; its first pane (the control pane: this module again, with
DEMO_PANE=control) starts everything, says which codes to try where, stops and starts head office
on Enter, and ends the demo on `q` or when a till quits. When this process ends, however it ends,
the tmux server goes (a Lifeline), and with it everything the control pane started.

Settings from the environment: PORT (8000), DEMO_DATA (demo-data), DEMO_LOGS (. : where
demo-central.log and demo-agent.log go), DEMO_LARGE_BATCH (1000000 vouchers generated in the
background; 100000 with two tills), DEMO_CAMERA (e.g. 0 or /dev/video0 for a webcam, or
demo-data/camera; till 1's with two tills), DEMO_TILLS (1 or 2), DEMO_HUB_PORT (PORT + 470, the
hub's), DEMO_TMUX_SOCKET (the tmux socket name of the two-till demo, for a test to read its panes),
DEMO_LANG (en, fr, de or es: the demo stores' locale, so their tills speak it; `make demo DEMO_LANG=de`).
What the demo prints, here and in the control pane, is in DEMO_LANG too (words/, domain "central":
head office's), as is what `voucher-central demo` prints and seeds; so are the programs' own words
(their LANGUAGE is DEMO_LANG).
"""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from functools import partial
from pathlib import Path

import httpx

from central.client import ApiError
from harness.agent import AgentProcess
from harness.office import HeadOffice
from harness.processes import Child, Lifeline, StartFailed, program, spawn, wait_for
from harness.server import ServerProcess
from words import LANGUAGES, Words, words_for

SEEDING_DEADLINE = 300  # a dozen batches seeded through the API on a loaded two-core machine
FIRST_PULL_DEADLINE = 60
STORE, TILL_NAME, PIN = "demo-shop", "demo-till-1", "1234"
HUB_NAME = "demo-hub"
HUB_DEADLINE = 60
DOMAIN = "central"  # the demo's words are head office's (`voucher-central demo` words its own there)
SUMMARY = "summary.txt"  # what `voucher-central demo` printed once seeded, in the demo's language


def _words() -> Words:
    """The demo's words, in DEMO_LANG (checked by main; none: English)."""
    return words_for(os.environ.get("DEMO_LANG", "").strip() or None, DOMAIN)


def _seeded(data: Path) -> bool:
    """`voucher-central demo` printed its summary (and wrote it to summary.txt, whole, last)."""
    return (data / SUMMARY).exists() and (data / "codes.tsv").exists()


def _summary(data: Path) -> str:
    return (data / SUMMARY).read_text(encoding="utf-8", errors="replace").rstrip("\n")


def _pulled(agent: AgentProcess) -> bool:
    try:
        return json.loads(agent.status("--json")).get("last_pull_at") is not None
    except ValueError:  # no answer yet (the agent has not made its files)
        return False


def run(port: int, data: Path, logs: Path, large_batch: str, camera: str) -> int:
    w = _words()
    url = f"http://127.0.0.1:{port}"
    central_log, agent_log = logs / "demo-central.log", logs / "demo-agent.log"
    data.mkdir(parents=True, exist_ok=True)
    central_log.unlink(missing_ok=True)
    (data / SUMMARY).unlink(missing_ok=True)  # a summary left by an earlier demo is not this one's
    print(w.gettext("demo: starting head office on {url} (log: {log})", url=url, log=central_log), flush=True)
    argv = [program("voucher-central"), "demo", "--port", str(port), "--data-dir", str(data), *_locale()]
    central = Child([*argv, "--large-batch", large_batch], log=central_log, name="voucher-central demo")
    till = data / "till"
    agent = AgentProcess(till, log=agent_log)
    try:
        central.start().wait_ready(lambda: _seeded(data), SEEDING_DEADLINE, "the demo seeded")
        with HeadOffice(url, (data / "api-token").read_text().strip()) as office:  # hq@demo.example's token
            code = office.enrolment_code(STORE)
        print(agent.enrol(url, code, TILL_NAME, check=True).stdout.strip(), flush=True)
        from kiosk.pin import save_pin

        save_pin(till / "manager-pin", PIN)
        agent.start()
        try:
            wait_for(lambda: _pulled(agent), FIRST_PULL_DEADLINE, "the till's first pull")
        except AssertionError:
            print(
                w.gettext("demo: the till has not pulled yet (see {log}); it goes on trying", log=agent_log),
                flush=True,
            )
        print(_summary(data))
        # TRANSLATORS: the one-till demo's last words before the till opens; F2, Enter and Ctrl+Q are keys
        banner = w.gettext(
            "A till is enrolled at {store} ({till}); its sync agent runs in the background (log: {log}).\n"
            "The manager PIN of the demo till is {pin} (F2 in the kiosk). The head-office dashboard is at\n"
            "{url}/dashboard (sign in as {email}, password in {data}/dashboard-password); the API is at "
            "{url}/docs.\n"
            "Members sign in at a claim page with any address: the sign-in mail (link and code) is a file "
            "in {data}/mail/.\n"
            "Press Enter to open the till (type or scan the codes above; Ctrl+Q quits and stops the demo).",
            store=STORE,
            till=till,
            log=agent_log,
            pin=PIN,
            url=url,
            email="hq@demo.example",
            data=data,
        )
        print("\n" + banner, flush=True)
        try:
            input()
        except EOFError:
            pass
        kiosk = [program("voucher-kiosk"), "run", "--data-dir", str(till)]
        if camera:
            kiosk += ["--camera", camera, "--preview"]
        # in our process group, so the kiosk has the terminal; it dies with the demo all the same
        # a demo may be quit (Ctrl+Q), a till may not (the setting allow_quit); the till's name as enrolled
        env = {"VOUCHER_KIOSK_ALLOW_QUIT": "true", "VOUCHER_KIOSK_TILL_NAME": TILL_NAME, **os.environ}
        screen = spawn(kiosk, env=env, stdin=None, new_session=False)
        try:
            return screen.wait()
        except KeyboardInterrupt:
            return screen.wait()
    except StartFailed as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except ApiError as exc:  # head office refused the enrolment code
        print(f"demo: {exc.describe()}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # the till could not enrol
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        agent.stop()
        central.stop()


# -- DEMO_TILLS=2: a shop with two tills behind its hub, in tmux -----------------------------------

TMUX_CONF = """\
set -g default-terminal "tmux-256color"
set -g remain-on-exit on
set -g history-limit 5000
set -g mouse on
set -g pane-border-status top
set -g pane-border-format " #{pane_title} "
set -g status-left-length 80
set -g status-right ""
set -g set-titles off
set -g automatic-rename off
set -g allow-rename off
"""

HUB_TOML = """\
# The demo's hub: voucher-hub enrol CODE --config {config}, then voucher-hub serve --config {config}.
# Every key: config/hub.example.toml.
server = {server}
host = "127.0.0.1"
port = {port}
state_dir = {state_dir}
backoff_max_seconds = 5   # the demo stops head office: it is back within 5 s of its return
"""


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _without_tmux() -> dict[str, str]:
    """The environment for our own tmux server: not the terminal's tmux, if the demo runs in one."""
    return {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}


def say(text: str = "") -> None:
    print(text, flush=True)


class Shop:
    """`make demo DEMO_TILLS=2`. `attach()` runs in the user's terminal: a tmux server on a private
    socket whose first pane runs `control()` (this module with DEMO_PANE=control), then attaches the
    terminal to it until the demo ends. `control()` starts head office, the hub and the two tills'
    agents as its children (harness.processes: they die with it), opens the two kiosks and the hub's
    log in panes of their own (a Lifeline kills them and the tmux server if it dies), and reads its
    pane: Enter stops or starts head office, q ends the demo."""

    def __init__(
        self,
        *,
        port: int,
        hub_port: int,
        data: Path,
        logs: Path,
        large_batch: str,
        camera: str,
        socket: str,
    ) -> None:
        self.port, self.hub_port = port, hub_port
        self.url, self.hub_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hub_port}"
        self.data, self.logs = data, logs
        self.large_batch, self.camera, self.socket = large_batch, camera, socket
        self.central: Child | None = None  # `voucher-central demo`, which seeded the database
        self.server: ServerProcess | None = None  # head office started again on the same database
        self.hub: Child | None = None
        self.agents: list[AgentProcess] = []
        self.office: HeadOffice | None = None
        self.panes: dict[str, str] = {}  # role -> tmux pane id
        self.lifeline: Lifeline | None = None
        self.words = _words()

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-u", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
            env=_without_tmux(),
            stdin=subprocess.DEVNULL,
        )

    # -- in the user's terminal ---------------------------------------------------------------

    def attach(self) -> int:
        w = self.words
        if shutil.which("tmux") is None:
            say(
                w.gettext(
                    "demo: DEMO_TILLS=2 shows the tills side by side in tmux, which is not installed "
                    "(make setup)"
                )
            )
            return 1
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            say(
                w.gettext(
                    "demo: DEMO_TILLS=2 needs a terminal to show the tills in (run it from one, not a pipe)"
                )
            )
            return 1
        cols, rows = shutil.get_terminal_size((200, 50))
        fd, name = tempfile.mkstemp(prefix="voucher-demo-", suffix=".tmux.conf")
        os.close(fd)
        conf = Path(name)
        # TRANSLATORS: the left of the two-till demo's status line (tmux), in brackets
        status = w.gettext("[voucher-kiosk demo: a shop with two tills]")
        conf.write_text(TMUX_CONF + f'set -g status-left "{_tmux_text(status)} "\n', encoding="utf-8")
        fd, name = tempfile.mkstemp(prefix="voucher-demo-", suffix=".result")
        os.close(fd)
        result = Path(name)
        settings = {
            "DEMO_PANE": "control",
            "DEMO_RESULT": str(result),
            "DEMO_TILLS": "2",
            "DEMO_TMUX_SOCKET": self.socket,
            "PORT": str(self.port),
            "DEMO_HUB_PORT": str(self.hub_port),
            "DEMO_DATA": str(self.data),
            "DEMO_LOGS": str(self.logs),
            "DEMO_LARGE_BATCH": self.large_batch,
            "DEMO_CAMERA": self.camera,
            "DEMO_LANG": os.environ.get("DEMO_LANG", ""),
        }
        command = "exec env " + shlex.join(
            [f"{k}={v}" for k, v in settings.items()] + [sys.executable, "-m", "harness.demo"]
        )
        root = str(Path(__file__).resolve().parent.parent)
        lifeline = Lifeline(["tmux", "-L", self.socket, "kill-server"])
        try:
            pid = int(
                self._tmux(
                    "-f", str(conf), "new-session", "-d", "-s", "demo", "-n", "shop", "-c", root,
                    "-x", str(cols), "-y", str(rows), "-P", "-F", "#{pane_pid}", command,
                ).stdout.strip()
            )  # fmt: skip
            lifeline.watch(pid)
            # the control pane ends the demo; should it die unannounced, the session goes with it
            threading.Thread(target=self._end_with, args=(pid,), daemon=True).start()
            subprocess.run(
                ["tmux", "-u", "-L", self.socket, "attach-session", "-t", "demo"],
                check=False,
                env=_without_tmux(),
            )
        except KeyboardInterrupt:
            pass
        except (subprocess.CalledProcessError, ValueError) as exc:
            say(w.gettext("demo: tmux did not start: {error}", error=getattr(exc, "stderr", "") or exc))
            return 1
        finally:
            self._tmux("kill-server", check=False)
            lifeline.release()
            conf.unlink(missing_ok=True)
        code, _, words = result.read_text(errors="replace").partition("\n")
        result.unlink(missing_ok=True)
        if words.strip():
            say(words.rstrip())
        return int(code) if code.strip().lstrip("-").isdigit() else 1

    def _end_with(self, pid: int) -> None:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(0.5)
        self._tmux("kill-server", check=False)

    # -- the control pane ---------------------------------------------------------------------

    def control(self, result: Path) -> int:
        signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))  # tmux went: stop what we started
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        w = self.words
        code, words = 1, ""
        try:
            code, words = self._control()
        except StartFailed as exc:
            words = f"demo: {exc}"
        except ApiError as exc:  # head office refused an enrolment code
            words = f"demo: {exc.describe()}"
        except (RuntimeError, AssertionError) as exc:  # an enrolment failed; a deadline passed
            words = f"demo: {exc}"
        except KeyboardInterrupt:
            code, words = 130, w.gettext("demo: interrupted; everything it started is stopped.")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # noqa: BLE001 (never a traceback on the screen: it goes to a log)
            log = self.logs / "demo-control.log"
            log.write_text(traceback.format_exc())
            error = f"{type(exc).__name__}: {exc}"
            words = w.gettext(
                "demo: stopped by an unexpected error ({error}); details in {log}",
                error=error,
                log=log,
            )
        finally:
            try:
                self._stop_all()
            finally:
                result.write_text(f"{code}\n{words}\n")
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                self._tmux("kill-server", check=False)  # our own pane included: the terminal is free
        return code

    def _control(self) -> tuple[int, str]:
        w, data, logs = self.words, self.data, self.logs
        data.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        central_log, hub_log = logs / "demo-central.log", logs / "demo-hub.log"
        for log in (central_log, hub_log, data / SUMMARY):
            log.unlink(missing_ok=True)  # an earlier demo's
        say(w.gettext("demo: starting head office on {url} (log: {log})", url=self.url, log=central_log))
        argv = [
            program("voucher-central"),
            "demo",
            "--port",
            str(self.port),
            "--data-dir",
            str(data),
            *_locale(),
        ]
        self.central = Child(
            [*argv, "--large-batch", self.large_batch], log=central_log, name="voucher-central demo"
        )
        self.central.start().wait_ready(lambda: _seeded(data), SEEDING_DEADLINE, "the demo seeded")
        say(_summary(data))
        self.office = HeadOffice(self.url, (data / "api-token").read_text().strip())
        # the shop's two codes: new claims of the batch of the ACCEPTED code to try (its name is in the
        # demo's language), so none of the codes printed above
        accepted = dict(line.split("\t", 1) for line in (data / "codes.tsv").read_text().splitlines())[
            "ACCEPTED"
        ]
        batch = self.office.get(self.office.voucher(accepted)["batch_id"])
        codes = [self.office.claim(batch, f"shop-{n}@example.com") for n in ("first", "second")]
        (data / "shop-codes.tsv").write_text(
            "".join(f"{n}\t{c}\n" for n, c in zip(("first", "second"), codes, strict=True))
        )

        say("\n" + w.gettext("demo: the shop's hub on {url} (log: {log})", url=self.hub_url, log=hub_log))
        hub_dir = data / "hub"
        hub_dir.mkdir(parents=True, exist_ok=True)
        config = hub_dir / "hub.toml"
        config.write_text(
            HUB_TOML.format(
                config=config,
                server=json.dumps(self.url),
                port=self.hub_port,
                state_dir=json.dumps(str(hub_dir)),
            )
        )
        hub_code = self.office.api.post(f"/stores/{STORE}/enrolment-codes", {"role": "hub"})["code"]
        hub_env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCHER_HUB_")}
        enrolled = subprocess.run(
            [program("voucher-hub"), "enrol", hub_code, "--name", HUB_NAME, "--config", str(config)],
            env=hub_env,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        if enrolled.returncode != 0:
            raise RuntimeError(f"voucher-hub enrol: {(enrolled.stderr or enrolled.stdout).strip()[:500]}")
        say(enrolled.stdout.strip())
        self.hub = Child(
            [program("voucher-hub"), "serve", "--config", str(config)],
            env=hub_env,
            log=hub_log,
            name="voucher-hub",
        )
        self.hub.start().wait_ready(lambda: _answers(self.hub_url), HUB_DEADLINE, "the hub answering")

        for n in (1, 2):
            till = data / f"till-{n}"
            agent = AgentProcess(till, log=logs / f"demo-agent-{n}.log")
            self.agents.append(agent)
            # the enrolment code is head office's; the till asks the hub, which passes it on
            say(
                agent.enrol(
                    self.hub_url, self.office.enrolment_code(STORE), f"demo-till-{n}", check=True
                ).stdout.strip()
            )
            from kiosk.pin import save_pin

            save_pin(till / "manager-pin", PIN)
            agent.start()
        for n, agent in enumerate(self.agents, start=1):
            try:
                wait_for(partial(_pulled, agent), FIRST_PULL_DEADLINE, f"till {n}'s first pull")
            except AssertionError:
                say(
                    w.gettext(
                        "demo: till {n} has not pulled yet (see {log}); it goes on trying", n=n, log=agent.log
                    )
                )
        self._open_panes(hub_log)
        say(self._instructions(codes))
        return self._loop(codes)

    def _open_panes(self, hub_log: Path) -> None:
        me = os.environ.get("TMUX_PANE", "")
        self.lifeline = Lifeline(["tmux", "-L", self.socket, "kill-server"])

        def pane(*args: str) -> str:
            pane_id, pid = self._tmux(
                "split-window", "-d", "-P", "-F", "#{pane_id} #{pane_pid}", *args
            ).stdout.split()
            assert self.lifeline is not None
            self.lifeline.watch(int(pid))
            return pane_id

        def kiosk(n: int) -> str:
            # a demo's till may be quit (Ctrl+Q: allow_quit), and has its name as enrolled
            argv = ["VOUCHER_KIOSK_ALLOW_QUIT=true", f"VOUCHER_KIOSK_TILL_NAME=demo-till-{n}"]
            argv += [program("voucher-kiosk"), "run", "--data-dir", str(self.data / f"till-{n}")]
            if self.camera and n == 1:
                argv += ["--camera", self.camera, "--preview"]
            return "exec env " + shlex.join(argv)

        till1 = pane("-v", "-b", "-l", "62%", "-t", me, kiosk(1))
        till2 = pane("-h", "-l", "50%", "-t", till1, kiosk(2))
        hub = pane("-h", "-l", "38%", "-t", me, "exec tail -n +1 -F " + shlex.quote(str(hub_log)))
        self.panes = {"control": me, "till-1": till1, "till-2": till2, "hub": hub}
        w = self.words
        titles = {
            # TRANSLATORS: the two-till demo's pane titles (tmux): Enter and q are keys
            "control": w.gettext(
                "head office and this demo: Enter here stops or starts head office, q ends the demo"
            ),
            "till-1": w.gettext("till {n} ({name}; its agent's server: the hub)", n=1, name="demo-till-1"),
            "till-2": w.gettext("till {n} ({name}; its agent's server: the hub)", n=2, name="demo-till-2"),
            "hub": w.gettext("the shop's hub, {url} (its log)", url=self.hub_url),
        }
        for role, pane_id in self.panes.items():
            self._tmux("select-pane", "-t", pane_id, "-T", titles[role], check=False)
        (self.data / "demo-panes.json").write_text(json.dumps({"socket": self.socket, "panes": self.panes}))

    def _instructions(self, codes: list[str]) -> str:
        first, second = codes
        w = self.words
        title = w.gettext("A shop with two tills")
        # TRANSLATORS: the two-till demo's instructions in its control pane. ACCEPTED and REFUSED are the
        # headlines the tills show; Enter, Ctrl+B, PgUp, q, Ctrl+Q and F2 are keys; keep the two spaces
        # either side of {first} and before {second}, and the columns of the first three lines
        steps = w.gettext(
            "Head office  {url}  (dashboard {url}/dashboard; log {log})\n"
            "The hub      {hub_url}, enrolled at head office as {store}'s hub ({hub_config});\n"
            "             its log is the pane on the right. Each till's sync agent has the hub as its server.\n"
            "Try it (click a pane to type in it, or Ctrl+B then an arrow key):\n"
            " 1. At till 1 (top left), type  {first}  and Enter: ACCEPTED.\n"
            " 2. At till 2 (top right), type the same code: REFUSED, already used. The hub told till 2 at once.\n"
            " 3. Here, press Enter: head office stops. At till 2, type  {second} : ACCEPTED;\n"
            "    at till 1, the same code: REFUSED. Head office is down; the shop's tills still see each other.\n"
            " 4. Here, press Enter again: head office starts again and the hub hands it both redemptions.\n"
            "The codes listed further up (Ctrl+B then PgUp scrolls, q stops scrolling; also in {codes_file})\n"
            "give their verdicts at both tills. Manager PIN {pin} (F2 at a till).\n"
            "Ctrl+Q at a till, or q and Enter here, ends the demo and stops everything it started.",
            url=self.url,
            log=self.logs / "demo-central.log",
            hub_url=self.hub_url,
            store=STORE,
            hub_config=self.data / "hub" / "hub.toml",
            first=first,
            second=second,
            codes_file=self.data / "codes.tsv",
            pin=PIN,
        )
        return f"\n== {title} {'=' * 60}\n{steps}"

    def _head_office_running(self) -> bool:
        return bool((self.central and self.central.alive()) or (self.server and self.server.alive()))

    def _prompt(self) -> None:
        w = self.words
        if self._head_office_running():
            # TRANSLATORS: the two-till demo's prompt; Enter and q are keys (q is typed as it is)
            prompt = w.gettext("[head office running] Enter: stop it, q Enter: end the demo > ")
        else:
            # TRANSLATORS: the two-till demo's prompt; Enter and q are keys (q is typed as it is)
            prompt = w.gettext("[head office STOPPED] Enter: start it again, q Enter: end the demo > ")
        print(prompt, end="", flush=True)

    def _loop(self, codes: list[str]) -> tuple[int, str]:
        self._prompt()
        while True:
            quit_till = self._quit_till()
            if quit_till:
                return 0, self.words.gettext(
                    "demo: {till} quit; everything the demo started is stopped.", till=quit_till
                )
            ready, _, _ = select.select([sys.stdin], [], [], 0.5)
            if not ready:
                continue
            line = sys.stdin.readline()
            if not line:  # the pane's terminal went
                return 0, ""
            answer = line.strip().lower()
            if answer in ("q", "quit", "exit"):
                return 0, self.words.gettext("demo: ended; everything it started is stopped.")
            if answer:
                say(self.words.gettext("Enter alone stops or starts head office; q and Enter ends the demo."))
            elif self._head_office_running():
                self._stop_head_office()
            else:
                self._start_head_office(codes)
            self._prompt()

    def _quit_till(self) -> str:
        """`till N` once a kiosk's pane has ended (Ctrl+Q), else ''."""
        listed = self._tmux("list-panes", "-s", "-F", "#{pane_id} #{pane_dead}", check=False).stdout.split(
            "\n"
        )
        dead = {line.split()[0] for line in listed if line.endswith(" 1")}
        alive = {line.split()[0] for line in listed if line.strip()}
        for n in (1, 2):
            pane_id = self.panes.get(f"till-{n}")
            if pane_id and (pane_id in dead or pane_id not in alive):
                # TRANSLATORS: which till quit, in "demo: {till} quit; ..."
                return self.words.gettext("till {n}", n=n)
        return ""

    def _stop_head_office(self) -> None:
        for process in (self.central, self.server):
            if process is not None:
                process.stop()
        say(
            self.words.gettext(
                "Head office stopped: nothing answers on {url} any more. The tills go on through the hub "
                "(step 3 above); the hub keeps every redemption until head office is back.",
                url=self.url,
            )
        )

    def _start_head_office(self, codes: list[str]) -> None:
        w = self.words
        say(w.gettext("demo: starting head office again on {url} ...", url=self.url))
        self.server = ServerProcess(
            f"sqlite:///{self.data / 'central.db'}",
            port=self.port,
            log=self.logs / "demo-central.log",
            settings={},  # head office's own limits, as `voucher-central demo` had them
            name="voucher-central",
            VOUCHER_ADMIN_TOKEN=(self.data / "admin-token").read_text().strip(),
        )
        try:
            self.server.start()
        except StartFailed as exc:
            say(w.gettext("demo: head office did not start again: {error}", error=exc))
            return
        say(
            w.gettext(
                "Head office is running again on {url} (voucher-central serve on the demo's database; "
                "members' sign-in mail stays off until the next demo).",
                url=self.url,
            )
        )
        threading.Thread(target=self._report_forwarded, args=(codes,), daemon=True).start()

    def _report_forwarded(self, codes: list[str]) -> None:
        """Once head office holds the tills' redemptions of the two codes, say so (in the pane)."""
        names = {}
        for n, agent in enumerate(self.agents, start=1):
            try:
                names[json.loads((agent.data_dir / "device.json").read_text())["device_id"]] = (
                    f"demo-till-{n}"
                )
            except (OSError, ValueError, KeyError):
                pass
        office = HeadOffice(self.url, (self.data / "api-token").read_text().strip())  # a new connection
        try:
            self._wait_forwarded(office, codes, names)
        finally:
            office.close()

    def _wait_forwarded(self, office: HeadOffice, codes: list[str], names: dict[str, str]) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self._head_office_running():
            try:
                found: list[dict | None] = [office.voucher(c).get("redemption") for c in codes]
            except ApiError:
                found = [None]
            if all(found):
                w = self.words
                by = ", ".join(
                    # TRANSLATORS: a code and the till that redeemed it, in the list after "forwarded by the hub:"
                    w.gettext("{code} by {till}", code=c, till=names.get(r["device_id"], r["device_id"]))
                    for c, r in zip(codes, found, strict=True)
                    if r is not None
                )
                say(
                    "\n"
                    + w.gettext("Head office has the shop's redemptions, forwarded by the hub: {by}.", by=by)
                )
                self._prompt()
                return
            time.sleep(1)

    def _stop_all(self) -> None:
        for role in ("till-1", "till-2"):  # a clean quit of each kiosk, as Ctrl+Q
            if role in self.panes:
                self._tmux("send-keys", "-t", self.panes[role], "C-q", check=False)
        deadline = time.monotonic() + 10
        while self.panes and time.monotonic() < deadline:
            listed = self._tmux("list-panes", "-s", "-F", "#{pane_id} #{pane_dead}", check=False).stdout
            if not any(
                line.split()[0] in (self.panes["till-1"], self.panes["till-2"]) and line.endswith(" 0")
                for line in listed.splitlines()
                if line.strip()
            ):
                break
            time.sleep(0.1)
        processes = [*self.agents, self.hub, self.server, self.central]
        for process in processes:  # SIGTERM to all at once: each stops in its own time, together
            popen = process.process if process is not None else None
            if popen is not None and popen.poll() is None:
                popen.terminate()
        for process in processes:
            if process is not None:
                process.stop()
        if self.office is not None:
            self.office.close()
        if self.lifeline is not None:
            self.lifeline.release()


def _locale() -> list[str]:
    """`voucher-central demo`'s --locale from DEMO_LANG (checked by main)."""
    language = os.environ.get("DEMO_LANG", "").strip()
    return ["--locale", language] if language else []


def _tmux_text(text: str) -> str:
    """Text for a double-quoted string of tmux's configuration, shown as it is (no format, no escape)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("#", "##").replace("$", "\\$")


def main() -> int:
    language = os.environ.get("DEMO_LANG", "").strip()
    if language and language not in LANGUAGES:
        print(f"demo: DEMO_LANG is one of {', '.join(LANGUAGES)}, not {language!r}", file=sys.stderr)
        return 2
    if language:  # the programs the demo runs word their own messages in its language too
        os.environ["LANGUAGE"] = language
        # gettext, and so words.from_environment, reads LANGUAGE only when the messages' locale is not
        # C, as a terminal's LANG=C.UTF-8 would make it: the messages' category alone names the language
        os.environ["LC_MESSAGES"] = f"{language}.UTF-8"
    tills = os.environ.get("DEMO_TILLS", "1").strip() or "1"
    if tills not in ("1", "2"):
        print(_words().gettext("demo: DEMO_TILLS is 1 or 2, not {value}", value=repr(tills)), file=sys.stderr)
        return 2
    port = int(os.environ.get("PORT", "8000"))
    data = Path(os.environ.get("DEMO_DATA", "demo-data"))
    logs = Path(os.environ.get("DEMO_LOGS", "."))
    camera = os.environ.get("DEMO_CAMERA", "")
    if tills == "1":
        return run(port, data, logs, os.environ.get("DEMO_LARGE_BATCH", "1000000"), camera)
    shop = Shop(
        port=port,
        hub_port=int(os.environ.get("DEMO_HUB_PORT") or port + 470),
        data=data.resolve(),
        logs=logs.resolve(),
        large_batch=os.environ.get("DEMO_LARGE_BATCH", "100000"),
        camera=camera,
        socket=os.environ.get("DEMO_TMUX_SOCKET") or f"voucher-demo-{os.getpid()}",
    )
    if os.environ.get("DEMO_PANE") == "control":
        return shop.control(Path(os.environ["DEMO_RESULT"]))
    return shop.attach()


if __name__ == "__main__":
    sys.exit(main())
