from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from moderation import services
from moderation.models import Platform
from tests.factories import register_model


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def platform(db: None) -> Platform:
    return services.create_platform(slug="vidshare", name="VidShare")


@pytest.fixture
def model_v1(platform: Platform) -> Any:
    return register_model(platform)


@pytest.fixture
def api_key(platform: Platform) -> str:
    _, plaintext = services.issue_api_key(platform=platform, name="tests")
    return plaintext


@pytest.fixture
def api(api_key: str, model_v1: Any) -> APIClient:
    """A platform's API client, with its hate-speech classifier v1 registered."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def make_client() -> Callable[[str], APIClient]:
    def make(key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make
