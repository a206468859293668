"""The home page is the way in for every reader: a creator with a notice link, an auditor or
researcher, a platform."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ledger import log
from ledger.public import LICENCE_URL, rollups
from moderation import services
from moderation.models import Decision, Platform
from tests.factories import as_input, decision_payload


def test_the_home_page_leads_each_reader_to_what_they_need(client: Client, db: None) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for section in ('id="notice"', 'id="auditors"', 'id="platforms"'):
        assert section in html
    links = set(re.findall(r'href="([^"#]+)"', html))
    assert {
        "/stats/",
        "/reports/dsa/",
        "/data/",
        "/log/checkpoint",
        "/log/key",
        "/api/v1/docs",
        "/api/v1/schema",
        LICENCE_URL,
    } <= links
    # A creator learns what a notice link is and what it lets them do.
    assert "/notice/…" in html
    assert "see the decision" in html and "appeal it" in html
    # An auditor gets the one command, with this ledger's address.
    assert "python -m ledger.verify http://testserver" in html


def test_it_names_the_latest_checkpoint_and_each_platforms_statistics(
    client: Client, platform: Platform, model_v1: Any, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "https://ledger.example"
    services.record_decision(platform=platform, decision=as_input(decision_payload()))
    rollups.refresh()
    html = client.get("/").content.decode()
    checkpoint = log.latest_checkpoint()
    assert checkpoint is not None
    assert f"(size {checkpoint.size})" in html
    assert '<a href="/stats/?platform=vidshare">VidShare</a>' in html
    assert "python -m ledger.verify https://ledger.example" in html


def test_the_home_page_reads_no_decision(client: Client, platform: Platform) -> None:
    with CaptureQueriesContext(connection) as run:
        assert client.get("/").status_code == 200
    assert Decision._meta.db_table not in " ".join(q["sql"] for q in run.captured_queries)
    assert len(run.captured_queries) <= 3
