"""`make run` as a newcomer uses it: it comes up, and Ctrl-C stops it cleanly and quickly.

Ctrl-C in a terminal sends SIGINT to the whole foreground process group (make, its shell, the
Celery worker and the web server); the test does the same to a `make run` in a session of its
own, with SIGINT at its default disposition as in a terminal.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
    # It runs on its own SQLite database whatever the suite uses: once is enough.
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs once, in the SQLite run"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _up(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            time.sleep(0.5)
    return False


def _alive(group: int) -> list[str]:
    pgrep = shutil.which("pgrep") or "pgrep"
    found = subprocess.run([pgrep, "-g", str(group)], capture_output=True, text=True)  # noqa: S603
    return found.stdout.split()


def test_make_run_comes_up_and_ctrl_c_stops_everything_once(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "LEDGER_VAR_DIR": str(tmp_path), "CELERY_LOGLEVEL": "warning"}
    env.pop("DATABASE_URL", None)
    make = shutil.which("make") or "make"
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        [make, "--no-print-directory", "run", f"PORT={port}", "SEED_ARGS=--decisions 40 --days 5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # As in a terminal: a process started in the background by a shell inherits SIGINT
        # ignored, which would hide exactly what this test is about.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert _up(port, timeout=180), "the web server did not answer"
        time.sleep(3)  # the worker and beat are up
        stopped_at = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        took = time.monotonic() - stopped_at
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    deadline = time.monotonic() + 10
    while _alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(process.pid) == [], "processes were left running"
    assert took < 15, f"stopping took {took:.1f} s"
    assert output.count("Warm shutdown") <= 1, output[-2000:]
    assert "Segmentation fault" not in output
    assert "Traceback" not in output, output[-3000:]
    # The demo key comes last before the servers start, with the URLs, not lost in the install.
    lines = output.splitlines()
    at = lines.index("Demo platform vidshare, API key (send as 'Authorization: Bearer'):")
    assert lines[at + 1].strip().startswith("mlk_")
    assert lines[at + 2].startswith(f"Web: http://127.0.0.1:{port}/")
