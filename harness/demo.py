"""The whole system as a demo (`make demo`, scripts/demo): head office (`voucher-central demo`:
a server on SQLite seeded with demo batches), an enrolled till with its sync agent, and the
cashier's screen in this terminal. Quitting the kiosk (Ctrl+Q) stops everything it started;
so does killing the demo, even with SIGKILL (harness.processes).

Settings from the environment: PORT (8000), DEMO_DATA (demo-data), DEMO_LOGS (. : where
demo-central.log and demo-agent.log go), DEMO_LARGE_BATCH (1000000 vouchers generated in the
background), DEMO_CAMERA (e.g. 0 or /dev/video0 for a webcam, or demo-data/camera).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from central.client import ApiError
from harness.agent import AgentProcess
from harness.office import HeadOffice
from harness.processes import Child, StartFailed, program, spawn, wait_for

SEEDING_DEADLINE = 300  # a dozen batches seeded through the API on a loaded two-core machine
FIRST_PULL_DEADLINE = 60
STORE, TILL_NAME, PIN = "demo-shop", "demo-till-1", "1234"


def _seeded(data: Path, log: Path) -> bool:
    """`voucher-central demo` printed its summary, whose last line names the camera frames."""
    try:
        return (data / "codes.tsv").exists() and "Camera frames" in log.read_text(errors="replace")
    except OSError:
        return False


def _pulled(agent: AgentProcess) -> bool:
    try:
        return json.loads(agent.status("--json")).get("last_pull_at") is not None
    except ValueError:  # no answer yet (the agent has not made its files)
        return False


def run(port: int, data: Path, logs: Path, large_batch: str, camera: str) -> int:
    url = f"http://127.0.0.1:{port}"
    central_log, agent_log = logs / "demo-central.log", logs / "demo-agent.log"
    data.mkdir(parents=True, exist_ok=True)
    central_log.unlink(missing_ok=True)  # a summary left by an earlier demo is not this one's
    print(f"demo: starting head office on {url} (log: {central_log})", flush=True)
    argv = [program("voucher-central"), "demo", "--port", str(port), "--data-dir", str(data)]
    central = Child([*argv, "--large-batch", large_batch], log=central_log, name="voucher-central demo")
    till = data / "till"
    agent = AgentProcess(till, log=agent_log)
    try:
        central.start().wait_ready(lambda: _seeded(data, central_log), SEEDING_DEADLINE, "the demo seeded")
        with HeadOffice(url, (data / "api-token").read_text().strip()) as office:  # hq@demo.example's token
            code = office.enrolment_code(STORE)
        print(agent.enrol(url, code, TILL_NAME, check=True).stdout.strip(), flush=True)
        from kiosk.pin import save_pin

        save_pin(till / "manager-pin", PIN)
        agent.start()
        try:
            wait_for(lambda: _pulled(agent), FIRST_PULL_DEADLINE, "the till's first pull")
        except AssertionError:
            print(f"demo: the till has not pulled yet (see {agent_log}); it goes on trying", flush=True)
        text = central_log.read_text(errors="replace")
        print(text[text.index("voucher-central demo is running") :].rstrip("\n"))
        print(
            f"""
A till is enrolled at {STORE} ({till}); its sync agent runs in the background (log: {agent_log}).
The manager PIN of the demo till is {PIN} (F2 in the kiosk). The head-office dashboard is at
{url}/dashboard (sign in as hq@demo.example, password in {data}/dashboard-password); the API is at {url}/docs.
Members sign in at a claim page with any address: the sign-in mail (link and code) is a file in {data}/mail/.
Press Enter to open the till (type or scan the codes above; Ctrl+Q quits and stops the demo).""",
            flush=True,
        )
        try:
            input()
        except EOFError:
            pass
        kiosk = [program("voucher-kiosk"), "run", "--data-dir", str(till)]
        if camera:
            kiosk += ["--camera", camera, "--preview"]
        # in our process group, so the kiosk has the terminal; it dies with the demo all the same
        screen = spawn(kiosk, stdin=None, new_session=False)
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


def main() -> int:
    return run(
        int(os.environ.get("PORT", "8000")),
        Path(os.environ.get("DEMO_DATA", "demo-data")),
        Path(os.environ.get("DEMO_LOGS", ".")),
        os.environ.get("DEMO_LARGE_BATCH", "1000000"),
        os.environ.get("DEMO_CAMERA", ""),
    )


if __name__ == "__main__":
    sys.exit(main())
