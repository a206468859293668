"""One registry of a decision's fields: the COPY columns, the row and the log payload."""

from __future__ import annotations

import json

import pytest

from ledger.models import LogEntry
from moderation import payloads, services
from moderation.models import Decision
from tests.factories import as_input, decision_payload


def test_the_copy_columns_are_the_models_columns_but_id_each_exactly_once():
    model_columns = [f.column for f in Decision._meta.concrete_fields if f.column != "id"]

    assert len(services.DECISION_COLUMNS) == len(set(services.DECISION_COLUMNS))
    assert sorted(services.DECISION_COLUMNS) == sorted(model_columns)
    assert services.DECISION_COLUMNS == payloads.DECISION_COLUMNS


@pytest.mark.django_db
def test_a_published_payload_has_exactly_the_registrys_public_keys(platform, model_v1):
    (recorded,) = services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload())]
    )

    payload = json.loads(LogEntry.objects.get(index=recorded.log_index).payload)

    assert set(payload) == payloads.DECISION_PAYLOAD_KEYS
    private = {f.column for f in payloads.DECISION_FIELDS if f.shown is payloads.Shown.PRIVATE}
    assert private == {
        "submission_digest",
        "notice_token",
        "log_index",
        "internal_notes",
        "source_identity",
        "moderator_id",
        "moderator_ref",
        "api_key_id",
        "notifier_ref",
        "notifier_token",
    }


def test_a_row_with_a_column_missing_or_invented_is_never_written():
    row = dict.fromkeys(payloads.DECISION_COLUMNS, "")
    del row["action"]

    with pytest.raises(KeyError):
        payloads.decision_copy_row({**row, "actoin": ""})
    with pytest.raises(ValueError, match="actoin"):
        payloads.decision_copy_row({**row, "action": "", "actoin": ""})
