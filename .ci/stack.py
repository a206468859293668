"""CI: the production stack end to end, on this machine's services, for one broker.

    .venv/bin/python .ci/stack.py --broker redis      # or --broker rabbitmq

(CI runs it with a virtualenv of the project's own dependencies, no dev tools: .ci/run.)

What the README's "Production" section tells an operator to run, run here: gunicorn with
gunicorn.conf.py, one Celery worker and exactly one beat, each its own process in its own
process group, on a PostgreSQL database made for the run, in the environment of
deploy/production.env.example (DEBUG off) with its secrets made for the run and its addresses
made local. The Redis run also puts the shared cache on Redis (REDIS_URL); the RabbitMQ run has
no Redis at all. Then, over HTTP only, as a platform and a creator would:

- the server is healthy (database, cache, broker, signing key) and `check --deploy` is clean;
- a batch of decisions is recorded with an API key;
- beat has a checkpoint signed that covers it within LEDGER_SEAL_EVERY_SECONDS (plus slack for
  the broker and the worker), verified with the run's own key and an inclusion proof;
- every statement reaches a local fake of the EU DSA Transparency Database, once each;
- an appeal filed from a notice token is told to the platform's webhook, signed (checked with
  the Standard Webhooks library and the secret the ledger gave);

and last it stops every process with SIGTERM, checks each stopped by itself and that no
process of the run is left, and drops the database. Each step prints PASS or FAIL; any FAIL
exits 1. Whatever happens, nothing of the run is left behind (processes, database, the Redis
database or RabbitMQ virtual host it used).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, TypeVar

import psycopg
import redis
from standardwebhooks import Webhook, WebhookVerificationError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger import merkle, note  # noqa: E402 (stdlib and cryptography only, no Django)
from tests.fake_eu import FakeEu  # noqa: E402

BIN = Path(sys.executable).parent
ENV_EXAMPLE = ROOT / "deploy" / "production.env.example"
PLATFORM = "stack-platform"
BATCH = 5
MODEL = {"model": "hate-speech", "model_version": "v1"}
# Beyond the beat interval: the broker's hop and the worker's run, on a busy CI machine (about
# 3 s at a load of 4 on 2 cores). Each step prints what it measured.
SLACK_SECONDS = 8.0
STOP_SECONDS = 30.0
# Marks every process of a run (in its environment), so that one that left its process group
# is still found.
MARKER = "LEDGER_STACK_RUN"
T = TypeVar("T")


class StepFailed(Exception):
    """A step failed; the run stops, then tears down."""


# --- pure helpers (tests/ledger/test_stack_script.py) -------------------------------------


def read_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines, as systemd's EnvironmentFile= reads deploy/production.env.example
    (blank lines and comments skipped; no quoting is used there)."""
    env = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"line {number} is not KEY=VALUE: {line!r}")
        env[name] = value
    return env


# The caller's own configuration of these never leaks into the stack's (a developer's DEBUG=1).
CONFIG_PREFIXES = (
    "LEDGER_", "DJANGO_", "CELERY_", "GUNICORN_", "DATABASE_", "SECURE_", "SESSION_", "CSRF_",
    "CACHE_", "PROMETHEUS_", "TRUST_", "REDIS_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS",
    "WEB_CONCURRENCY", "LOG_LEVEL",
)  # fmt: skip
# What the example leaves for the operator to make, made here for each run.
SECRETS = (
    "SECRET_KEY",
    "LEDGER_PSEUDONYM_SECRET",
    "LEDGER_LOG_SIGNING_KEY",
    "LEDGER_METRICS_TOKEN",
)


# The three processes as the README and deploy/ledger-*.service start them (a test keeps them
# alike), from the virtualenv's bin/.
COMMANDS = {
    "web": ["gunicorn", "ledger.wsgi"],
    "worker": ["celery", "-A", "ledger.celery", "worker", "--loglevel=info"],
    "beat": ["celery", "-A", "ledger.celery", "beat", "--loglevel=info"],
}


def commands(bin_dir: Path) -> dict[str, list[str]]:
    """Each process's argv; the worker's pool is two processes whatever the machine's cores."""
    extra = {"worker": ["--concurrency=2"]}
    return {
        name: [str(bin_dir / argv[0]), *argv[1:], *extra.get(name, [])]
        for name, argv in COMMANDS.items()
    }


def production_env(
    *,
    documented: dict[str, str],
    run: str,
    database_url: str,
    broker_url: str,
    cache_url: str | None,
    var_dir: Path,
    bind: str,
    seal_every: int,
    forward_every: int,
) -> dict[str, str]:
    """The documented production environment (deploy/production.env.example) with secrets made
    for the run and this machine's services; beyond it, only the intervals the checks time and
    leave for the local fakes' private addresses."""
    empty = sorted(name for name, value in documented.items() if not value and name not in SECRETS)
    if empty:
        raise ValueError(f"the example leaves {', '.join(empty)} empty, and the stack cannot")
    env = {key: value for key, value in os.environ.items() if not key.startswith(CONFIG_PREFIXES)}
    env.update(documented)
    env.update(
        {
            MARKER: run,
            "DJANGO_SETTINGS_MODULE": "ledger.settings",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "LEDGER_PSEUDONYM_SECRET": secrets.token_urlsafe(48),
            "LEDGER_LOG_SIGNING_KEY": note.generate_skey(documented["LEDGER_LOG_ORIGIN"])[0],
            "LEDGER_METRICS_TOKEN": secrets.token_urlsafe(24),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "LEDGER_VAR_DIR": str(var_dir),
            "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "prometheus"),
            "GUNICORN_BIND": bind,
            "WEB_CONCURRENCY": "2",
            "LEDGER_SEAL_EVERY_SECONDS": str(seal_every),
            "LEDGER_EU_FORWARD_EVERY_SECONDS": str(forward_every),
            "LEDGER_WEBHOOK_EVERY_SECONDS": "5",
            # The fake EU and the webhook receiver listen on 127.0.0.1, over plain http.
            "LEDGER_EU_ALLOW_PRIVATE_ENDPOINTS": "1",
            "LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("REDIS_URL", None)
    if cache_url:
        env["REDIS_URL"] = cache_url
        env["CACHE_KEY_PREFIX"] = f"stack-{run}"
    return env


def with_path(url: str, path: str) -> str:
    """`url` with its path replaced: a Redis database number, a RabbitMQ virtual host."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def decision(n: int, run: str) -> dict[str, Any]:
    """A platform's automated search exclusion of a text post (a shadowban), unique to the run."""
    return {
        "puid": f"stack-{run}-{n}",
        "subject": {"account": f"user-{n}", "content": f"post-{n}"},
        "decision_visibility": ["DECISION_VISIBILITY_SEARCH_EXCLUDED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "Community guidelines 4.2",
        "incompatible_content_explanation": "Classified as hate speech.",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "decision_facts": "white knight captures black queen",
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "Yes",
        "automated_decision": "AUTOMATED_DECISION_FULLY",
        **MODEL,
        "score": 0.91,
        "content_type": ["CONTENT_TYPE_TEXT"],
        "content_date": "2026-11-01",
        "application_date": "2026-11-02",
    }


def eu_statement(run: str) -> dict[str, Any]:
    """A statement of reasons exactly as a platform sends it to the EU's database."""
    return {
        "puid": f"stack-{run}-sor",
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "Terms of service, section 4.2",
        "incompatible_content_explanation": "The video shows graphic violence.",
        "incompatible_content_illegal": "No",
        "category": "STATEMENT_CATEGORY_VIOLENCE",
        "content_type": ["CONTENT_TYPE_VIDEO"],
        "content_date": "2026-10-30",
        "territorial_scope": ["AT", "DE"],
        "application_date": "2026-11-01",
        "decision_facts": "A user reported the video; a moderator removed it.",
        "source_type": "SOURCE_ARTICLE_16",
        "source_identity": "Notice 2026-4711",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    }


def notice_token(notice_url: str) -> str:
    """The token a notice URL (…/notice/<token>) hands to its holder."""
    path = urllib.parse.urlsplit(notice_url).path
    prefix, _, token = path.rpartition("/notice/")
    if not token or "/" in token or prefix.endswith("/notice"):
        raise ValueError(f"not a notice URL: {notice_url!r}")
    return token


def pids_marked(run: str, proc: Path = Path("/proc")) -> list[int]:
    """Every process whose environment carries this run's marker."""
    needle = f"{MARKER}={run}".encode()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return sorted(found)


def group_alive(pgid: int) -> bool:
    """Whether any process is left in the process group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.2) -> T:
    """`probe()`'s first value other than None, or a failure naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
        except Exception as exc:  # a probe's error is retried until the deadline
            last_error, value = exc, None
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            why = f" (last error: {last_error})" if last_error else ""
            raise StepFailed(f"no {what} within {timeout:.0f}s{why}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the report ---------------------------------------------------------------------------


@dataclass
class Report:
    broker: str
    started: float = field(default_factory=time.monotonic)
    failed: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str, *, fatal: bool = True) -> Iterator[None]:
        """Time one step and print its PASS or FAIL; a fatal one stops the run's checks."""
        start = time.monotonic()
        try:
            yield
        except KeyboardInterrupt as exc:
            self.failed.append(name)
            print(f"FAIL  {name}: interrupted ({exc})", flush=True)
            raise
        except Exception as exc:
            self.failed.append(name)
            print(f"FAIL  {name} ({time.monotonic() - start:.1f}s): {exc}", flush=True)
            if fatal:
                raise StepFailed(name) from exc
        else:
            print(f"PASS  {name} ({time.monotonic() - start:.1f}s)", flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


# --- the outside world: HTTP, the webhook receiver ----------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Client:
    """Requests to the local gunicorn as its TLS proxy passes them on: the public Host and, by
    default, X-Forwarded-Proto: https."""

    url: str
    host: str

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        proxied: bool = True,
        timeout: float = 30.0,
    ) -> Answer:
        headers = {"Accept": "application/json, text/plain", "Host": self.host}
        if proxied:
            headers["X-Forwarded-Proto"] = "https"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if not self.url.startswith("http://127.0.0.1:"):
            raise ValueError(f"only the local server is called, not {self.url!r}")
        request = urllib.request.Request(  # noqa: S310 (http to the local server, checked above)
            self.url + path, data=data, method=method, headers=headers
        )
        try:
            with OPENER.open(request, timeout=timeout) as response:
                return Answer(response.status, response.read(), dict(response.headers.items()))
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read(), dict(exc.headers.items()))


def expect(answer: Answer, status: int, what: str) -> Any:
    if answer.status != status:
        raise StepFailed(f"{what}: {answer.status}, not {status}: {answer.body[:500]!r}")
    return answer.json()


class WebhookReceiver:
    """The platform's end: keeps each message whose Standard Webhooks signature verifies with
    the secret the ledger gave, and refuses (400) any other."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.verified: list[dict[str, Any]] = []
        self.refused: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    if receiver.secret is None:
                        raise WebhookVerificationError("no secret yet")
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                except (WebhookVerificationError, ValueError) as exc:
                    receiver.refused.append(str(exc))
                    self.send_response(400)
                else:
                    receiver.verified.append(payload)
                    self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ledger"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- processes ----------------------------------------------------------------------------


@dataclass
class Service:
    """One process of the stack, the leader of its own process group."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 (our own argv)
            self.argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float) -> str | None:
        """SIGTERM to the leader only (gunicorn and Celery stop their own children); None when
        it and its whole group are gone in time, else what was wrong (the group is then
        killed)."""
        if self.process is None:
            return None
        pgid = self.process.pid
        early = self.process.poll()
        if early is None:
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        problem = None
        if code is None or group_alive(pgid):
            problem = f"{self.name} still running {timeout:.0f}s after SIGTERM; killed"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.process.wait()
        elif early is not None:
            problem = f"{self.name} had exited ({early}) before SIGTERM"
        elif code != 0:
            problem = f"{self.name} exited {code} on SIGTERM"
        if self.log is not None:
            self.log.close()
        return problem

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(f"    {self.name}| {line}" for line in text.splitlines()[-lines:])


# --- the broker and the database the run owns ---------------------------------------------


class RedisDatabase:
    """A Redis database number the run claims, empty, and empties after: the run's broker and
    cache share nobody's keys, and leave none."""

    CLAIM = "ledger-stack:claim"

    def __init__(self, base_url: str, run: str) -> None:
        self.base_url = base_url
        for number in range(15, 1, -1):
            client = redis.Redis.from_url(with_path(base_url, f"/{number}"))
            if client.dbsize() == 0 and client.set(self.CLAIM, run, nx=True, ex=900):
                if client.dbsize() == 1:
                    self.number, self.client = number, client
                    return
                client.delete(self.CLAIM)
            client.close()
        raise StepFailed("no empty Redis database among 2 to 15 for the run")

    @property
    def url(self) -> str:
        return with_path(self.base_url, f"/{self.number}")

    def release(self) -> None:
        self.client.flushdb()
        self.client.close()


class RabbitVhost:
    """A RabbitMQ virtual host made for the run (its queues are nobody else's) and deleted
    after, with everything in it."""

    def __init__(self, base_url: str, run: str) -> None:
        self.name = f"ledger-stack-{run}"
        user = urllib.parse.urlsplit(base_url).username or "guest"
        self._ctl("add_vhost", self.name)
        self._ctl("set_permissions", "-p", self.name, user, ".*", ".*", ".*")
        self.url = with_path(base_url, "/" + urllib.parse.quote(self.name, safe=""))

    @staticmethod
    def _ctl(*args: str) -> None:
        subprocess.run(  # noqa: S603
            ["rabbitmqctl", "-q", *args],  # noqa: S607
            check=True,
            capture_output=True,
            timeout=60,
        )

    def release(self) -> None:
        self._ctl("delete_vhost", self.name)


def admin_sql(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql.encode(), params)
        return cursor.fetchall() if cursor.description else []


# --- the run ------------------------------------------------------------------------------


def run_stack(args: argparse.Namespace) -> int:
    run = f"{args.broker[:6]}{os.getpid()}"
    report = Report(args.broker)
    print(f"== the production stack on {args.broker} (run {run})", flush=True)
    work = Path(tempfile.mkdtemp(prefix=f"ledger-stack-{run}-"))
    (work / "prometheus").mkdir()
    database = f"ledger_stack_{args.broker}_{os.getpid()}"
    admin_dsn = args.postgres + "/postgres"
    services: list[Service] = []
    broker: RedisDatabase | RabbitVhost | None = None
    fake_eu = FakeEu(token=secrets.token_urlsafe(16))
    fake_eu.__enter__()
    receiver = WebhookReceiver()
    try:
        with report.step("services: a PostgreSQL database and the broker's own namespace"):
            admin_sql(admin_dsn, f'CREATE DATABASE "{database}"')
            if args.broker == "redis":
                broker = RedisDatabase(args.redis, run)
                cache_url: str | None = broker.url
                print(f"      broker and cache: Redis database {broker.number}", flush=True)
            else:
                broker = RabbitVhost(args.rabbitmq, run)
                cache_url = None
                print(f"      broker: RabbitMQ virtual host {broker.name}; no Redis", flush=True)
        port = free_port()
        documented = read_env_file(ENV_EXAMPLE.read_text())
        ledger = Client(
            f"http://127.0.0.1:{port}",
            urllib.parse.urlsplit(documented["LEDGER_PUBLIC_BASE_URL"]).netloc,
        )
        env = production_env(
            documented=documented,
            run=run,
            database_url=f"{args.postgres}/{database}",
            broker_url=broker.url,
            cache_url=cache_url,
            var_dir=work,
            bind=f"127.0.0.1:{port}",
            seal_every=args.seal_every,
            forward_every=args.forward_every,
        )
        manage = [str(BIN / "python"), "manage.py"]

        def command(*argv: str) -> str:
            done = subprocess.run(  # noqa: S603
                [*manage, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
            if done.returncode != 0:
                raise StepFailed(f"{' '.join(argv)}: {done.stdout[-800:]}{done.stderr[-1500:]}")
            return done.stdout

        with report.step("manage.py check --deploy, clean (no warning) with DEBUG off"):
            command("check", "--deploy", "--fail-level", "WARNING")
        with report.step("manage.py migrate on the new database"):
            command("migrate", "--noinput")
        with report.step("manage.py issue_api_key for a new platform"):
            key = command("issue_api_key", PLATFORM, "--create", "--name", "stack").split()[-1]

        services = [
            Service(name, argv, work / f"{name}.log") for name, argv in commands(BIN).items()
        ]
        with report.step("start gunicorn, one worker and one beat; /health/ all green"):
            for service in services:
                service.start(env)

            def healthy() -> bool | None:
                for service in services:
                    if not service.running():
                        raise StepFailed(f"{service.name} exited at start")
                answer = ledger.call("GET", "/health/?format=json", timeout=5)
                return True if answer.status == 200 else None

            wait_for("healthy server", healthy, timeout=args.start_timeout)

        with report.step("HTTPS is enforced: plain http redirects to https"):
            plain = ledger.call("GET", "/api/v1/decisions", proxied=False)
            location = plain.headers.get("Location", "")
            if plain.status != 301 or not location.startswith("https://"):
                raise StepFailed(f"plain http answered {plain.status} (Location {location!r})")

        with report.step("the platform registers its model, its EU token, its webhook URL"):
            model: dict[str, Any] = {"name": MODEL["model"], "version": MODEL["model_version"]}
            model |= {"released_at": "2026-01-15", "threshold": 0.8}
            expect(ledger.call("POST", "/api/v1/models", model, key=key), 201, "the model")
            forwarding = ledger.call(
                "PUT",
                "/api/v1/forwarding/eu",
                {"api_token": fake_eu.token, "endpoint": fake_eu.endpoint},
                key=key,
            )
            expect(forwarding, 200, "PUT /api/v1/forwarding/eu")
            hook = expect(
                ledger.call("PUT", "/api/v1/webhooks", {"url": receiver.url}, key=key),
                201,
                "PUT /api/v1/webhooks",
            )
            receiver.secret = hook["secret"]

        with report.step(f"a batch of {BATCH} decisions recorded (POST /api/v1/decisions/batch)"):
            body = {"decisions": [decision(n, run) for n in range(BATCH)]}
            answer = ledger.call("POST", "/api/v1/decisions/batch", body, key=key)
            recorded_at = time.monotonic()
            receipts = expect(answer, 201, "the batch")["decisions"]
            if [r["status"] for r in receipts] != ["created"] * BATCH:
                raise StepFailed(f"not all created: {receipts}")
            public = documented["LEDGER_PUBLIC_BASE_URL"] + "/notice/"
            if not all(r["notice_url"].startswith(public) for r in receipts):
                raise StepFailed(f"notice URLs not under {public}: {receipts[0]['notice_url']}")
        puids = [r["puid"] for r in receipts]
        last = max(receipts, key=lambda r: r["log_index"])

        if cache_url is not None:
            with report.step("the cache is on Redis: the EU API's rate limits counted there"):
                statement = eu_statement(run)
                created = ledger.call("POST", "/api/v1/statement", statement, key=key)
                expect(created, 201, "POST /api/v1/statement")
                puids.append(statement["puid"])
                assert isinstance(broker, RedisDatabase)
                counted = [
                    k
                    for k in broker.client.scan_iter(match=f"stack-{run}:*throttle*")
                    if broker.client.exists(k)
                ]
                if not counted:
                    raise StepFailed("no throttle key under the run's prefix in Redis")

        limit = args.seal_every + SLACK_SECONDS
        with report.step(f"beat seals a checkpoint covering the batch within {limit:.0f}s"):
            # The run's own key, not the one the server says it has (/log/key).
            verifier = note.Signer.from_skey(env["LEDGER_LOG_SIGNING_KEY"]).verifier

            def sealed() -> note.Checkpoint | None:
                answer = ledger.call("GET", "/log/checkpoint", timeout=5)
                if answer.status != 200:
                    return None
                checkpoint = note.verify_checkpoint(
                    answer.body, [verifier], env["LEDGER_LOG_ORIGIN"]
                )
                return checkpoint if checkpoint.size > last["log_index"] else None

            checkpoint = wait_for("checkpoint covering the batch", sealed, timeout=limit)
            took = time.monotonic() - recorded_at
            proof = expect(
                ledger.call(
                    "GET",
                    f"/api/v1/log/proof/inclusion?index={last['log_index']}"
                    f"&tree_size={checkpoint.size}",
                ),
                200,
                "the inclusion proof",
            )
            path = [base64.b64decode(h) for h in proof["audit_path"]]
            leaf = bytes.fromhex(last["leaf_hash"])
            if not merkle.verify_inclusion(
                leaf, last["log_index"], checkpoint.size, path, checkpoint.root
            ):
                raise StepFailed("the batch's last entry is not in the signed checkpoint")
            print(f"      size {checkpoint.size}, {took:.1f}s after the batch", flush=True)

        limit = args.forward_every + SLACK_SECONDS
        with report.step(f"each statement forwarded to the fake EU once, within {limit:.0f}s"):

            def forwarded() -> dict[str, int] | None:
                if not set(puids) <= set(fake_eu.stored):
                    return None
                # The ledger records each answer after it came (a second transaction).
                status = expect(ledger.call("GET", "/api/v1/forwarding/eu", key=key), 200, "GET")
                counts: dict[str, int] = status["statements"]
                return counts if counts.get("submitted") == len(puids) else None

            counts = wait_for("statements at the fake EU, counted as sent", forwarded, limit)
            sent = fake_eu.sent_puids()
            twice = sorted({p for p in sent if sent.count(p) > 1})
            if twice:
                raise StepFailed(f"sent more than once: {twice}")
            if sum(counts.values()) != len(puids):
                raise StepFailed(f"the ledger's counts: {counts}")

        with report.step("an appeal filed from a notice token (POST /api/v1/appeals)"):
            token = notice_token(receipts[0]["notice_url"])
            appeal = expect(
                ledger.call(
                    "POST",
                    "/api/v1/appeals",
                    {"token": token, "statement": "It is a chess lesson."},
                ),
                201,
                "the appeal",
            )

        limit = 5 + SLACK_SECONDS
        with report.step(f"the appeal.filed webhook delivered, signed, within {limit:.0f}s"):

            def delivered() -> dict[str, Any] | None:
                for payload in receiver.verified:
                    if payload.get("data", {}).get("appeal") == appeal["id"]:
                        return payload
                if receiver.refused:
                    raise StepFailed(f"a webhook failed verification: {receiver.refused}")
                return None

            payload = wait_for("verified webhook", delivered, timeout=limit)
            if payload["type"] != "appeal.filed":
                raise StepFailed(f"event {payload['type']!r}")

        with report.step("/metrics answers with the token, and counts the log"):
            refused = ledger.call("GET", "/metrics", proxied=False)
            if refused.status != 401:
                raise StepFailed(f"/metrics without its token: {refused.status}")
            metrics = ledger.call("GET", "/metrics", key=env["LEDGER_METRICS_TOKEN"], proxied=False)
            if metrics.status != 200 or b"ledger_log_entries" not in metrics.body:
                raise StepFailed(f"/metrics with its token: {metrics.status}")

        with report.step("gunicorn's access log has the requests, and no credential"):
            access = services[0].log_path.read_text(errors="replace")
            if '"POST /api/v1/decisions/batch HTTP/1.1" 201' not in access:
                raise StepFailed("the batch's request is not in the access log")
            leaked = [
                name
                for name, value in (
                    ("API key", key),
                    ("metrics token", env["LEDGER_METRICS_TOKEN"]),
                )
                if value in access
            ]
            if leaked:
                raise StepFailed(f"in the log: {', '.join(leaked)}")
    except KeyboardInterrupt:
        report.failed.append("interrupted")
    except StepFailed:
        for service in services:
            if service.log is not None and (tail := service.tail()):
                print(tail, flush=True)
    finally:
        # Teardown is bounded (STOP_SECONDS a process); a second signal must not cut it short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        teardown(report, services, run, database, admin_dsn, broker)
        receiver.close()
        fake_eu.__exit__()
        if report.failed:
            print(f"      logs kept in {work}", flush=True)
        else:
            shutil.rmtree(work)
    verdict = "FAIL" if report.failed else "PASS"
    print(f"== {verdict}: the stack on {args.broker} in {report.elapsed():.1f}s", flush=True)
    return 1 if report.failed else 0


def teardown(
    report: Report,
    services: list[Service],
    run: str,
    database: str,
    admin_dsn: str,
    broker: RedisDatabase | RabbitVhost | None,
) -> None:
    """Stop everything and check it is gone, whatever failed before; each check on its own."""
    if services:
        with report.step("SIGTERM: web, worker and beat each stop by themselves", fatal=False):
            # Web first: nothing new is queued while the worker finishes what it holds.
            problems = []
            for service in services:
                started = time.monotonic()
                if problem := service.stop(STOP_SECONDS):
                    problems.append(problem)
                print(f"      {service.name}: {time.monotonic() - started:.1f}s", flush=True)
            if problems:
                raise StepFailed("; ".join(problems))
    with report.step("nothing of the run is left running", fatal=False):
        left = pids_marked(run)
        if left:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise StepFailed(f"processes left (killed): {left}")
        groups = [s.process.pid for s in services if s.process and group_alive(s.process.pid)]
        if groups:
            raise StepFailed(f"process groups left: {groups}")
    with report.step("the database dropped, no connection left to it", fatal=False):
        connected = admin_sql(
            admin_dsn, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
        )[0][0]
        admin_sql(admin_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if admin_sql(admin_dsn, "SELECT 1 FROM pg_database WHERE datname = %s", (database,)):
            raise StepFailed(f"{database} still exists")
        if connected:
            raise StepFailed(f"{connected} connections were still open to {database}")
    if broker is not None:
        with report.step("the broker's namespace removed", fatal=False):
            broker.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--broker", choices=["redis", "rabbitmq"], required=True)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--rabbitmq", default="amqp://guest:guest@127.0.0.1:5672")
    parser.add_argument("--seal-every", type=int, default=5, help="LEDGER_SEAL_EVERY_SECONDS")
    parser.add_argument(
        "--forward-every", type=int, default=10, help="LEDGER_EU_FORWARD_EVERY_SECONDS"
    )
    parser.add_argument("--start-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    # A CI runner's SIGTERM (a timeout, a cancel) still tears the stack down.
    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    return run_stack(args)


if __name__ == "__main__":
    sys.exit(main())
