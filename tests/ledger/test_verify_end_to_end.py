"""The auditor's monitor against the real server: a healthy log passes, a row tampered in the
database after sealing is caught and named, and a creator's receipt verifies."""

from __future__ import annotations

import io
import json

from django.db import connection

from ledger import log, verify
from ledger.db import install_append_only_triggers
from moderation import services
from tests.factories import as_input, decision_payload


def run(url: str, state, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = verify.main([url, "--state", str(state), *extra], out=out)
    return code, out.getvalue()


def tamper_payload(index: int) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE ledger_logentry DISABLE TRIGGER USER")
        else:
            cursor.execute('DROP TRIGGER "ledger_logentry_no_update"')
        cursor.execute(
            "UPDATE ledger_logentry SET payload = REPLACE(payload, '0.93', '0.31') "
            'WHERE "index" = %s',
            [index],
        )
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE ledger_logentry ENABLE TRIGGER USER")
    install_append_only_triggers()


def test_the_monitor_follows_the_log_and_catches_a_tampered_row(
    live_server, flushable_append_only_tables, platform, model_v1, tmp_path, client
):
    recorded = services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload()) for _ in range(40)]
    )
    log.seal_checkpoint()
    state = tmp_path / "monitor.json"

    first, first_out = run(live_server.url, state)
    services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload()) for _ in range(5)]
    )
    log.seal_checkpoint()
    second, second_out = run(live_server.url, state)

    assert first == 0, first_out
    assert second == 0, second_out
    assert "OK consistency" in second_out
    assert json.loads(state.read_text())["size"] == 46

    receipt = tmp_path / "decision.tlog-proof"
    receipt.write_bytes(
        client.get(f"/notice/{recorded[7].notice_token}/receipt.tlog-proof").content
    )
    code, out = run(live_server.url, state, "--receipt", str(receipt))
    assert code == 0, out
    assert str(recorded[7].public_id) in out

    tamper_payload(recorded[3].log_index)
    services.record_decisions(platform=platform, decisions=[as_input(decision_payload())])
    log.seal_checkpoint()
    fresh_state = tmp_path / "fresh.json"
    code, out = run(live_server.url, fresh_state)

    assert code == 1
    assert f"FAIL entry {recorded[3].log_index}" in out
    assert not fresh_state.exists()  # nothing is trusted from a failed run


def test_an_old_row_tampered_after_the_monitor_saw_it_is_caught_only_by_full(
    live_server, flushable_append_only_tables, platform, model_v1, tmp_path
):
    recorded = services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload()) for _ in range(20)]
    )
    log.seal_checkpoint()
    state = tmp_path / "monitor.json"
    code, out = run(live_server.url, state)
    assert code == 0, out

    tamper_payload(recorded[3].log_index)
    services.record_decisions(platform=platform, decisions=[as_input(decision_payload())])
    log.seal_checkpoint()
    plain, plain_out = run(live_server.url, state)
    saved = state.read_bytes()
    full, full_out = run(live_server.url, state, "--full")

    # A plain run fetches only the entry added since: the edited old row goes unseen.
    assert plain == 0, plain_out
    assert "OK entries: 1 new entries" in plain_out
    assert full == 1, full_out
    assert "OK consistency" in full_out
    assert f"FAIL entry {recorded[3].log_index}: leaf hash does not match its payload" in full_out
    assert state.read_bytes() == saved
