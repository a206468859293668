"""The backup and restore drill of the README's "Backups and restore", run as an operator would.

The README's three command blocks (back up, restore and check, ask the monitor) are read from
the README and run as written, by bash, with the variables they name pointing at this test's
own databases and files. Around them: a demo ledger on its own PostgreSQL database, served by
gunicorn with a production environment and followed by the monitor; then its newest dump
restored and served at the same address, and an older one. Every database made here is
dropped at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from ledger.note import generate_skey
from tests.factories import decision_payload

REPO = Path(__file__).resolve().parents[2]
ORIGIN = "drill.example.org/log"


def readme_blocks() -> list[str]:
    """The shell blocks of the README's "Backups and restore" section, in order."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Backups and restore\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_gives_the_three_blocks_the_drill_runs() -> None:
    backup, restore, monitor = readme_blocks()

    assert backup.startswith("pg_dump --format=custom")
    assert "pg_restore" in restore and "manage.py verify_log" in restore
    assert monitor.startswith(".venv/bin/python -m ledger.verify")


def server_url(name: str) -> str:
    """A URL for database `name` on the PostgreSQL server the tests use."""
    db = settings.DATABASES["default"]
    user = urllib.parse.quote(db["USER"] or "postgres")
    password = f":{urllib.parse.quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


class Drill:
    """The operator's shell: a production environment, and every database and process the
    drill makes, so that all of them go away at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.tag = uuid.uuid4().hex[:8]
        self.databases: list[str] = []
        self.server: subprocess.Popen[bytes] | None = None
        self.output = (workdir / "server.out").open("ab")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        kept = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "LEDGER_", "CELERY_", "GUNICORN_", "REDIS_"))
        }
        self.env = {
            **kept,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "LEDGER_PSEUDONYM_SECRET": secrets.token_urlsafe(40),
            "LEDGER_LOG_SIGNING_KEY": generate_skey(ORIGIN)[0],
            "LEDGER_LOG_ORIGIN": ORIGIN,
            "ALLOWED_HOSTS": "127.0.0.1",
            # gunicorn is reached directly here, without the TLS proxy production puts in front.
            "SECURE_SSL_REDIRECT": "0",
            "TRUST_X_FORWARDED_PROTO": "0",
            # The development broker's files, and anything else under var/, stay in the test's.
            "LEDGER_VAR_DIR": str(workdir / "var"),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_ACCESS_LOG": str(workdir / "access.log"),
            "GUNICORN_ERROR_LOG": str(workdir / "gunicorn.log"),
        }

    def database(self, role: str) -> str:
        name = f"ledger_drill_{self.tag}_{len(self.databases)}_{role}"
        self.databases.append(name)
        return name

    def run(
        self, args: list[str], *, database: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        extra = {"DATABASE_URL": server_url(database)} if database else {}
        return subprocess.run(  # noqa: S603 (PostgreSQL's tools, our interpreter, the README)
            args,
            cwd=REPO,
            env={**self.env, **extra, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def ok(self, args: list[str], *, database: str | None = None) -> str:
        done = self.run(args, database=database)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def manage(self, *args: str, database: str) -> str:
        return self.ok([".venv/bin/python", "manage.py", *args], database=database)

    def create(self, role: str) -> str:
        name = self.database(role)
        self.ok(["createdb", "--maintenance-db", server_url("postgres"), name])
        return name

    def drop(self, name: str) -> None:
        self.ok(
            ["dropdb", "--if-exists", "--force", "--maintenance-db", server_url("postgres"), name]
        )

    def block(
        self, script: str, *, database: str | None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """One of the README's blocks, run as written with the production environment."""
        return self.run(["bash", "-euo", "pipefail", "-c", script], database=database, **env)

    def back_up(self, database: str, name: str) -> Path:
        backup = self.workdir / name
        done = self.block(readme_blocks()[0], database=database, BACKUP=str(backup))
        assert done.returncode == 0, done.stdout + done.stderr
        return backup

    def restore(
        self, backup: Path, *, live: str, **env: str
    ) -> tuple[str, subprocess.CompletedProcess[str]]:
        restored = self.database("restored")
        done = self.block(
            readme_blocks()[1],
            database=live,
            BACKUP=str(backup),
            RESTORE_DB=restored,
            RESTORE_URL=server_url(restored),
            **env,
        )
        return restored, done

    def monitor(self, state: Path) -> subprocess.CompletedProcess[str]:
        return self.block(
            readme_blocks()[2], database=None, LEDGER_URL=self.url, MONITOR_STATE=str(state)
        )

    def serve(self, database: str) -> None:
        """gunicorn on `database` at the drill's one address, as the production section runs
        it; returns once it answers."""
        self.stop()
        self.server = subprocess.Popen(
            [".venv/bin/gunicorn", "ledger.wsgi"],
            cwd=REPO,
            env={**self.env, "DATABASE_URL": server_url(database)},
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.server.poll() is None, self.log()
            try:
                with urllib.request.urlopen(f"{self.url}/log/key", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within 60 s\n{self.log()}")

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.terminate()
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait(timeout=10)
        self.server = None

    def log(self) -> str:
        self.output.flush()
        return "".join(
            (self.workdir / name).read_text()[-3000:]
            for name in ("gunicorn.log", "server.out")
            if (self.workdir / name).exists()
        )

    def record(self, key: str, count: int) -> None:
        """Decisions through the API of the server running now, as the platform sends them."""
        body = json.dumps({"decisions": [decision_payload() for _ in range(count)]}).encode()
        request = urllib.request.Request(  # noqa: S310 (the drill's own server)
            f"{self.url}/api/v1/decisions/batch",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            assert answer.status == 201

    def close(self) -> None:
        self.stop()
        self.output.close()
        for name in self.databases:
            self.drop(name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    for tool in ("pg_dump", "pg_restore", "createdb", "dropdb"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    operator = Drill(tmp_path)
    try:
        yield operator
    finally:
        operator.close()


def size_in(state: Path) -> int:
    size: int = json.loads(state.read_text())["size"]
    return size


@pytest.mark.postgres
def test_the_newest_dump_restores_verifies_and_extends_what_the_monitor_saw(
    drill: Drill, tmp_path: Path
) -> None:
    """The README's drill end to end; the rollback an older dump is; and the newest dump
    restored without the pseudonym secret."""
    live = drill.create("live")
    drill.manage("migrate", "--verbosity", "0", database=live)
    seeded = drill.manage("seed_demo", "--decisions", "300", "--days", "30", database=live)
    key = seeded.strip().splitlines()[-1]
    drill.manage("seal_checkpoint", database=live)
    state = tmp_path / "monitor.json"

    drill.serve(live)
    first = drill.monitor(state)
    assert first.returncode == 0, first.stdout + first.stderr
    older = drill.back_up(live, "older.dump")
    drill.record(key, 20)
    drill.manage("seal_checkpoint", database=live)
    second = drill.monitor(state)
    assert second.returncode == 0, second.stdout + second.stderr
    seen = size_in(state)
    newest = drill.back_up(live, "newest.dump")
    drill.stop()
    drill.drop(live)

    # The loss: only the dumps and the secrets are left.
    restored, done = drill.restore(newest, live="postgres")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"^OK {seen} entries and 2 checkpoints verified\.$", done.stdout, re.M)
    drill.serve(restored)
    unchanged = drill.monitor(state)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert f"OK consistency: size {seen} unchanged, same root" in unchanged.stdout
    drill.record(key, 7)  # the platform's key was restored with the rest
    drill.manage("seal_checkpoint", database=restored)
    grown = drill.monitor(state)
    assert grown.returncode == 0, grown.stdout + grown.stderr
    verified = size_in(state)
    assert verified >= seen + 7
    assert f"OK consistency: size {seen} -> {verified}" in grown.stdout
    assert f"all {verified} entries" in grown.stdout  # --full: every entry fetched again
    followed = state.read_text()

    # An older dump restores and verifies on its own, but it is not the ledger the monitor saw.
    rolled_back, done = drill.restore(older, live="postgres")
    assert done.returncode == 0, done.stdout + done.stderr
    drill.serve(rolled_back)
    smaller = drill.monitor(state)
    assert smaller.returncode == 1, smaller.stdout + smaller.stderr
    assert re.search(
        rf"^FAIL consistency: size \d+ is smaller than the verified size {verified}$",
        smaller.stdout,
        re.M,
    ), smaller.stdout
    # Signing on does not help: the new tree cannot be proven to extend the verified one.
    drill.record(key, 60)
    drill.manage("seal_checkpoint", database=rolled_back)
    forked = drill.monitor(state)
    assert forked.returncode == 1, forked.stdout + forked.stderr
    assert re.search(
        rf"^FAIL consistency: the proof that size {verified} is a prefix of size \d+ does not "
        "verify",
        forked.stdout,
        re.M,
    ), forked.stdout
    assert state.read_text() == followed  # a failed run changes nothing the monitor trusts

    # The newest dump is worth nothing without the secrets kept beside it.
    _, done = drill.restore(
        newest, live="postgres", LEDGER_PSEUDONYM_SECRET=secrets.token_urlsafe(40)
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(
        r"^FAIL entry \d+: .* differs from its log entry in reviewer$", done.stderr, re.M
    )
    assert "first bad index" in done.stderr
