"""The pure parts of .ci/stack.py, CI's production-stack check (the stack itself runs only in
CI: it starts gunicorn, Celery and a database of its own)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from ledger import note

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_stack", ROOT / ".ci" / "stack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


stack = _load()


def env_for(tmp_path: Path, **overrides: object) -> dict[str, str]:
    arguments: dict[str, object] = {
        "documented": stack.read_env_file(stack.ENV_EXAMPLE.read_text()),
        "run": "test1",
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "broker_url": "redis://127.0.0.1:6379/9",
        "cache_url": "redis://127.0.0.1:6379/9",
        "var_dir": tmp_path,
        "bind": "127.0.0.1:8123",
        "seal_every": 5,
        "forward_every": 10,
    }
    arguments.update(overrides)
    return stack.production_env(**arguments)


def test_the_production_environment_is_the_documented_one_with_secrets_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEBUG", "1")
    monkeypatch.setenv("LEDGER_EU_API_URL", "https://somewhere.example")
    monkeypatch.setenv("SECURE_SSL_REDIRECT", "0")
    documented = stack.read_env_file(stack.ENV_EXAMPLE.read_text())
    first, second = env_for(tmp_path), env_for(tmp_path)

    assert first["DEBUG"] == documented["DEBUG"] == "0"
    # The caller's own configuration does not leak into the stack's.
    assert "LEDGER_EU_API_URL" not in first and "SECURE_SSL_REDIRECT" not in first
    for name in ("ALLOWED_HOSTS", "LEDGER_PUBLIC_BASE_URL", "SECURE_HSTS_PRELOAD"):
        assert first[name] == documented[name]
    for name in ("SECRET_KEY", "LEDGER_PSEUDONYM_SECRET", "LEDGER_METRICS_TOKEN"):
        assert not documented[name]
        assert len(first[name]) >= 32 and first[name] != second[name]
    assert first["SECRET_KEY"] != first["LEDGER_PSEUDONYM_SECRET"]
    signer = note.Signer.from_skey(first["LEDGER_LOG_SIGNING_KEY"])
    assert signer.name == first["LEDGER_LOG_ORIGIN"] == documented["LEDGER_LOG_ORIGIN"]
    assert first["LEDGER_LOG_SIGNING_KEY"] != second["LEDGER_LOG_SIGNING_KEY"]
    assert first[stack.MARKER] == "test1"


def test_a_value_the_example_leaves_empty_must_be_one_the_stack_makes(tmp_path: Path) -> None:
    documented = stack.read_env_file(stack.ENV_EXAMPLE.read_text()) | {"DATABASE_URL": ""}
    with pytest.raises(ValueError, match="leaves DATABASE_URL empty"):
        env_for(tmp_path, documented=documented)


def test_every_variable_of_the_example_is_read_by_the_ledger() -> None:
    code = (
        "".join(
            path.read_text()
            for pattern in ("ledger/**/*.py", "moderation/**/*.py", "appeals/**/*.py")
            for path in ROOT.glob(pattern)
        )
        + (ROOT / "gunicorn.conf.py").read_text()
    )
    documented = stack.read_env_file(stack.ENV_EXAMPLE.read_text())
    assert [name for name in documented if f'"{name}"' not in code] == []


def test_read_env_file_takes_key_value_lines_and_refuses_others() -> None:
    text = "# a comment\n\nDEBUG=0\n  URL=redis://h:1/0?a=b  \nEMPTY=\n"
    assert stack.read_env_file(text) == {"DEBUG": "0", "URL": "redis://h:1/0?a=b", "EMPTY": ""}
    with pytest.raises(ValueError, match="line 2"):
        stack.read_env_file("A=1\nexport B=2\n")


def test_only_the_redis_run_puts_the_cache_on_redis(tmp_path: Path) -> None:
    assert env_for(tmp_path)["REDIS_URL"] == "redis://127.0.0.1:6379/9"
    rabbit = env_for(tmp_path, broker_url="amqp://guest:guest@127.0.0.1:5672/v", cache_url=None)
    assert "REDIS_URL" not in rabbit and "CACHE_KEY_PREFIX" not in rabbit
    assert rabbit["CELERY_BROKER_URL"] == "amqp://guest:guest@127.0.0.1:5672/v"


def test_django_accepts_the_production_environment_with_no_deploy_warning(tmp_path: Path) -> None:
    env = env_for(tmp_path, cache_url=None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_with_path_replaces_the_database_number_or_the_virtual_host() -> None:
    assert stack.with_path("redis://127.0.0.1:6379", "/7") == "redis://127.0.0.1:6379/7"
    assert stack.with_path("redis://:pw@host:6379/0", "/3") == "redis://:pw@host:6379/3"
    assert (
        stack.with_path("amqp://guest:guest@127.0.0.1:5672", "/ledger-stack-1")
        == "amqp://guest:guest@127.0.0.1:5672/ledger-stack-1"
    )


def test_notice_token_is_the_last_path_segment_of_a_notice_url() -> None:
    assert stack.notice_token("https://ledger.example/notice/AbC-123_x") == "AbC-123_x"
    assert stack.notice_token("http://127.0.0.1:8000/notice/tok?x=1") == "tok"
    for bad in (
        "https://ledger.example/notice/",
        "https://ledger.example/decisions/abc",
        "https://ledger.example/notice/tok/receipt.tlog-proof",
    ):
        with pytest.raises(ValueError, match="not a notice URL"):
            stack.notice_token(bad)


def test_the_batch_and_the_statement_are_unique_to_the_run() -> None:
    batch = [stack.decision(n, "r1") for n in range(3)]
    assert len({d["puid"] for d in batch}) == 3
    assert {d["puid"] for d in batch}.isdisjoint(stack.decision(n, "r2")["puid"] for n in range(3))
    assert stack.eu_statement("r1")["puid"] != stack.eu_statement("r2")["puid"]
    assert all(d["model"] == stack.MODEL["model"] for d in batch)


def test_pids_marked_finds_the_processes_carrying_the_run_marker(tmp_path: Path) -> None:
    def process(pid: int, *variables: str) -> None:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "environ").write_bytes(b"\0".join(v.encode() for v in variables))

    process(10, "PATH=/bin", f"{stack.MARKER}=run7")
    process(11, f"{stack.MARKER}=run77")  # another run's, whose name starts alike
    process(12, "PATH=/bin")
    process(13, f"{stack.MARKER}=run7", "HOME=/root")
    (tmp_path / "14").mkdir()  # gone, or not ours to read: no environ
    (tmp_path / "self").mkdir()

    assert stack.pids_marked("run7", proc=tmp_path) == [10, 13]


def test_pids_marked_sees_a_real_child_that_left_its_process_group() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        env={**os.environ, stack.MARKER: f"pytest{os.getpid()}"},
        start_new_session=True,
    )
    try:
        assert child.pid in stack.pids_marked(f"pytest{os.getpid()}")
        assert stack.group_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert stack.pids_marked(f"pytest{os.getpid()}") == []
    assert not stack.group_alive(child.pid)


def test_wait_for_returns_the_first_value_and_names_what_never_came() -> None:
    values = iter([None, None, 3])
    assert stack.wait_for("three", lambda: next(values), timeout=5, every=0.01) == 3

    def broken() -> None:
        raise ConnectionRefusedError("refused")

    started = time.monotonic()
    with pytest.raises(stack.StepFailed, match=r"no server within 0s \(last error: refused\)"):
        stack.wait_for("server", broken, timeout=0.2, every=0.05)
    assert time.monotonic() - started < 2


def test_a_failed_step_is_reported_and_stops_the_run_only_when_fatal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = stack.Report("redis")
    with report.step("fine"):
        pass
    with report.step("cleanup", fatal=False):
        raise RuntimeError("left over")
    with pytest.raises(stack.StepFailed), report.step("vital"):
        raise RuntimeError("broken")

    assert report.failed == ["cleanup", "vital"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("PASS  fine")
    assert lines[1].startswith("FAIL  cleanup") and lines[1].endswith("left over")
    assert lines[2].startswith("FAIL  vital") and lines[2].endswith("broken")


def _exec_start(unit: str) -> list[str]:
    text = (ROOT / "deploy" / f"ledger-{unit}.service").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    return line.removeprefix("ExecStart=").split()


def test_the_stack_starts_each_process_as_the_readme_and_the_systemd_units_do() -> None:
    production = (ROOT / "README.md").read_text().split("\n## Production\n", 1)[1]
    production = production.split("\n## ", 1)[0]
    started = stack.commands(Path("/venv/bin"))
    assert set(started) == {"web", "worker", "beat"}
    for name, argv in stack.COMMANDS.items():
        unit = _exec_start(name)
        assert unit[0] == f"/srv/ledger/.venv/bin/{argv[0]}" and unit[1:] == argv[1:]
        assert f"`.venv/bin/{' '.join(argv)}`" in production
        assert started[name][: len(argv)] == [f"/venv/bin/{argv[0]}", *argv[1:]]
    # Exactly one beat: the worker is never started with --beat (or -B) beside it.
    assert not {"--beat", "-B"} & {arg for argv in started.values() for arg in argv}
    assert all(
        "EnvironmentFile=/etc/ledger/production.env"
        in (ROOT / "deploy" / f"ledger-{name}.service").read_text()
        for name in stack.COMMANDS
    )
