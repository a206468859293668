"""`manage.py demo_key`: the demo's API key printed again on a development server, never with
DEBUG off."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from moderation import services
from moderation.models import ApiKey


def _run() -> list[str]:
    out = io.StringIO()
    call_command("demo_key", stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def var(tmp_path: Path):  # type: ignore[no-untyped-def]
    with override_settings(VAR_DIR=tmp_path, DEBUG=True):
        yield tmp_path


@pytest.mark.django_db
def test_prints_the_kept_key_again_and_it_authenticates(var: Path) -> None:
    platform = services.create_platform(slug="vidshare")
    first = _run()
    again = _run()
    assert first == again  # the same key, not a new one each start
    key = first[1].strip()
    assert ApiKey.objects.filter(platform=platform).count() == 1
    assert ApiKey.objects.get().key_hash == services.hash_api_key(key)
    assert (var / "demo-api-key.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.django_db
def test_a_revoked_or_foreign_kept_key_is_replaced(var: Path) -> None:
    platform = services.create_platform(slug="vidshare")
    key = _run()[1].strip()
    services.revoke_api_key(api_key=ApiKey.objects.get())
    replaced = _run()[1].strip()
    assert replaced != key
    assert ApiKey.objects.filter(platform=platform, revoked_at__isnull=True).count() == 1
    (var / "demo-api-key.json").write_text(json.dumps({"platform": "other", "key": replaced}))
    assert _run()[1].strip() != replaced
    (var / "demo-api-key.json").write_text("not json")
    assert _run()[1].strip().startswith("mlk_")


@pytest.mark.django_db
def test_refused_with_debug_off(tmp_path: Path) -> None:
    services.create_platform(slug="vidshare")
    with override_settings(VAR_DIR=tmp_path, DEBUG=False), pytest.raises(CommandError):
        _run()
    assert not (tmp_path / "demo-api-key.json").exists()
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_needs_the_demo_platform(var: Path) -> None:
    with pytest.raises(CommandError, match="seed_demo"):
        _run()
