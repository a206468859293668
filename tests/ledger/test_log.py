"""The transparency log as the ledger writes it and as anyone reads it."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from ledger import log, merkle, note, tiles
from ledger.db import install_append_only_triggers
from ledger.models import Checkpoint, LogEntry
from moderation import services
from moderation.models import Decision
from tests.factories import as_input, decision_payload, human_payload

pytestmark = pytest.mark.django_db


def record(platform, count: int = 1, **overrides) -> list[services.Recorded]:
    return services.record_decisions(
        platform=platform, decisions=[as_input(decision_payload(**overrides)) for _ in range(count)]
    )


def stored_entries() -> list[tuple[int, str, str, bytes]]:
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT "index", entry_type, payload, leaf_hash FROM ledger_logentry ORDER BY "index"'
        )
        return [(i, t, p, bytes(h)) for i, t, p, h in cursor.fetchall()]


@contextmanager
def triggers_disabled(table: str):
    """Tamper as an attacker with database access would: around the append-only triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            cursor.execute(f'DROP TRIGGER "{table}_no_update"')
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    install_append_only_triggers()


def test_every_decision_policy_and_model_version_is_an_entry_in_order(platform, model_v1):
    services.register_policy(
        platform=platform,
        key="hate",
        title="Hate",
        category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
        clause="4.2",
    )
    recorded = record(platform, 3)

    entries = stored_entries()

    assert [(i, t) for i, t, _, _ in entries] == [
        (0, "model_version"),
        (1, "policy"),
        (2, "decision"),
        (3, "decision"),
        (4, "decision"),
    ]
    assert [r.log_index for r in recorded] == [2, 3, 4]
    assert [json.loads(p)["id"] for _, t, p, _ in entries if t == "decision"] == [
        str(r.public_id) for r in recorded
    ]


def test_a_payload_is_canonical_json_and_its_leaf_hash_is_sha256_of_0x00_and_it(platform, model_v1):
    record(platform, decision_facts="Ünïcödé facts — “quoted”")

    for _, _, payload, leaf in stored_entries():
        parsed = json.loads(payload)
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert payload == canonical
        assert leaf == hashlib.sha256(b"\x00" + payload.encode("utf-8")).digest()


def test_a_payload_carries_no_personal_data_or_internal_notes(platform, model_v1):
    body = human_payload(
        subject={"account": "alice@example.org", "content": "post-alice-1"},
        internal_notes="reviewer thinks this is fine",
        source_identity="Notifier Jane Doe",
        moderator="mod-jane",
    )
    (recorded,) = services.record_decisions(platform=platform, decisions=[as_input(body)])

    payload = LogEntry.objects.get(index=recorded.log_index).payload
    decision = Decision.objects.get(public_id=recorded.public_id)

    for secret in ("alice", "reviewer thinks", "Jane", "mod-jane", decision.notice_token):
        assert secret not in payload
    assert json.loads(payload)["subject"]["account"] == decision.subject_account


def test_a_refused_batch_appends_nothing(platform, model_v1):
    record(platform, puid="kept")
    before = stored_entries()

    with pytest.raises(services.PuidConflict):
        services.record_decisions(
            platform=platform,
            decisions=[
                as_input(decision_payload()),
                as_input(decision_payload(puid="kept", score=0.5)),
            ],
        )

    assert stored_entries() == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_logentry SET payload = '{}'",
        "DELETE FROM ledger_logentry",
        "UPDATE ledger_lognode SET hash = hash",
        "DELETE FROM ledger_checkpoint",
    ],
)
def test_the_log_tables_reject_update_and_delete(platform, model_v1, statement):
    record(platform, 4)
    log.seal_checkpoint()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def test_roots_and_proofs_from_stored_hashes_match_a_tree_built_from_the_leaves(platform, model_v1):
    record(platform, 36)  # 37 entries with the model version: not a power of two
    leaves = [leaf for _, _, _, leaf in stored_entries()]

    for size in (1, 2, 5, 16, 31, 37):
        assert log.root(size) == merkle.root(leaves[:size])
    for index in (0, 1, 17, 36):
        proof = log.inclusion_proof(index, 37)
        assert proof == merkle.inclusion_proof_from_leaves(index, leaves)
        assert merkle.verify_inclusion(leaves[index], index, 37, proof, merkle.root(leaves))
    for first in (1, 3, 16, 20):
        proof = log.consistency_proof(first, 37)
        assert merkle.verify_consistency(
            first, 37, proof, merkle.root(leaves[:first]), merkle.root(leaves)
        )


def test_a_checkpoint_is_signed_only_when_the_log_grew(platform, model_v1):
    record(platform, 5)

    first = log.seal_checkpoint()
    again = log.seal_checkpoint()
    record(platform, 2)
    second = log.seal_checkpoint()

    assert first is not None and first.size == 6
    assert again is None
    assert second is not None and second.size == 8
    verifier = log.signer().verifier
    body = note.verify_checkpoint(second.note, [verifier], log.origin())
    assert body.root == log.root(8)


def test_a_checkpoint_inconsistent_with_the_last_is_never_signed(platform, model_v1):
    record(platform, 8)
    log.seal_checkpoint()
    record(platform, 3)
    with triggers_disabled("ledger_lognode") as cursor:
        # Rewrite history: the subtree over entries 0..7 gets another hash.
        cursor.execute(
            'UPDATE ledger_lognode SET hash = %s WHERE level = 3 AND "index" = 0',
            [hashlib.sha256(b"forged").digest()],
        )

    with pytest.raises(log.LogError):
        log.seal_checkpoint()

    assert list(Checkpoint.objects.values_list("size", flat=True)) == [9]


def test_the_public_api_serves_checkpoint_key_entries_and_proofs(client, platform, model_v1):
    record(platform, 20)
    log.seal_checkpoint()

    checkpoint = client.get("/log/checkpoint")
    key = client.get("/log/key")
    verifier = note.Verifier.from_vkey(key.content.decode().strip())
    body = note.verify_checkpoint(checkpoint.content, [verifier], log.origin())
    page = client.get("/api/v1/log/entries", {"start": 5, "end": 9}).json()
    one = client.get("/api/v1/log/entries/7").json()
    inclusion = client.get("/api/v1/log/proof/inclusion", {"index": 7, "tree_size": 21}).json()
    consistency = client.get("/api/v1/log/proof/consistency", {"first": 9, "second": 21}).json()

    assert checkpoint["Content-Type"].startswith("text/plain") and body.size == 21
    assert [e["index"] for e in page["entries"]] == [5, 6, 7, 8]
    assert one == page["entries"][2]
    leaf = merkle.leaf_hash(one["payload"].encode())
    assert leaf.hex() == one["leaf_hash"]
    path = [base64.b64decode(h) for h in inclusion["audit_path"]]
    assert (inclusion["leaf_index"], inclusion["tree_size"]) == (7, 21)
    assert merkle.verify_inclusion(leaf, 7, 21, path, body.root)
    proof = [base64.b64decode(h) for h in consistency["consistency"]]
    assert merkle.verify_consistency(9, 21, proof, log.root(9), body.root)


def test_entries_are_paged_with_a_link_to_the_next_page(client, platform, model_v1, monkeypatch):
    from ledger import api

    monkeypatch.setattr(api, "MAX_PAGE", 4)
    record(platform, 9)

    first = client.get("/api/v1/log/entries", {"start": 0}).json()
    second = client.get(first["next"]).json()

    assert [e["index"] for e in first["entries"]] == [0, 1, 2, 3]
    assert [e["index"] for e in second["entries"]] == [4, 5, 6, 7]


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/log/proof/inclusion", {"index": 3}, "tree_size"),
        ("/api/v1/log/proof/inclusion", {"index": "x", "tree_size": 2}, "index"),
        ("/api/v1/log/proof/inclusion", {"index": 5, "tree_size": 5}, "index"),
        ("/api/v1/log/proof/inclusion", {"index": 0, "tree_size": 999}, "tree_size"),
        ("/api/v1/log/proof/consistency", {"first": 4, "second": 2}, "first"),
        ("/api/v1/log/proof/consistency", {"first": -1, "second": 2}, "first"),
        ("/api/v1/log/proof/consistency", {"first": 1, "second": 999}, "second"),
        ("/api/v1/log/entries", {}, "start"),
    ],
)
def test_bad_proof_requests_get_a_400_naming_the_parameter(
    client, platform, model_v1, url, params, field
):
    record(platform, 5)

    response = client.get(url, params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_log_is_served_as_tlog_tiles_a_client_can_rebuild_the_root_from(
    client, platform, model_v1
):
    record(platform, 299)  # 300 entries: one full level-0 tile and a partial one of 44
    log.seal_checkpoint()
    size = 300

    def read_tile(level: int, index: int) -> bytes:
        tile = tiles.tile_for(level * 8, index * 256, size)
        response = client.get(f"/log/{tile.path}")
        assert response.status_code == 200, tile.path
        return response.content

    def perfect(level: int, index: int) -> bytes:
        return tiles.perfect_hash_from_tiles(level, index, read_tile)

    assert merkle.range_hash(0, size, perfect) == log.root(size)
    full = client.get("/log/tile/0/000")
    assert len(full.content) == 256 * 32 and "immutable" in full["Cache-Control"]
    assert client.get("/log/tile/0/001.p/44").status_code == 200
    assert client.get("/log/tile/0/001.p/45").status_code == 404
    assert client.get("/log/tile/1/000.p/2").status_code == 404  # level 1 holds one hash
    bundle = tiles.decode_entry_bundle(client.get("/log/tile/entries/001.p/44").content, 44)
    assert bundle[0] == LogEntry.objects.get(index=256).payload.encode()
    assert client.get("/log/tile/0/x1").status_code == 404


def test_a_decisions_receipt_is_a_tlog_proof_a_creator_can_verify_offline(client, api, platform):
    created = api.post(
        "/api/v1/decisions", data=json.dumps(decision_payload()), content_type="application/json"
    ).json()
    receipt_path = created["receipt_url"].removeprefix("http://testserver")

    not_yet = client.get(receipt_path)
    log.seal_checkpoint()
    receipt = client.get(receipt_path)

    assert not_yet.status_code == 503 and not_yet["Retry-After"] == "5"
    assert receipt.status_code == 200
    proof = note.parse_tlog_proof(receipt.content)
    assert proof.index == created["log_index"]
    assert merkle.leaf_hash(proof.extra).hex() == created["leaf_hash"]
    assert json.loads(proof.extra)["id"] == created["id"]
    verifier = log.signer().verifier
    assert note.verify_tlog_proof(
        receipt.content, bytes.fromhex(created["leaf_hash"]), [verifier], log.origin()
    )


def test_the_notice_page_shows_the_log_entry_and_links_the_receipt(client, platform, model_v1):
    (recorded,) = record(platform)
    log.seal_checkpoint()

    page = client.get(f"/notice/{recorded.notice_token}").content.decode()

    assert f'id="log-index">{recorded.log_index}<' in page
    assert recorded.leaf_hash.hex() in page
    assert f"/notice/{recorded.notice_token}/receipt.tlog-proof" in page


def test_verify_log_passes_on_an_intact_log(platform, model_v1, capsys):
    record(platform, 40)
    log.seal_checkpoint()
    record(platform, 3)
    log.seal_checkpoint()

    call_command("verify_log")

    assert "OK 44 entries and 2 checkpoints verified." in capsys.readouterr().out


def test_verify_log_names_the_first_tampered_index(platform, model_v1, capsys):
    record(platform, 30)
    log.seal_checkpoint()
    with triggers_disabled("ledger_logentry") as cursor:
        cursor.execute(
            "UPDATE ledger_logentry SET payload = REPLACE(payload, '0.93', '0.13') "
            'WHERE "index" = 17'
        )

    with pytest.raises(CommandError, match="first bad index: 17"):
        call_command("verify_log")

    assert "entry 17: leaf hash does not match its payload" in capsys.readouterr().err


def test_verify_log_catches_a_rewritten_leaf_hash_through_the_signed_root(
    platform, model_v1, capsys
):
    record(platform, 30)
    log.seal_checkpoint()
    forged = '{"type":"decision","forged":true}'
    with triggers_disabled("ledger_logentry") as cursor:
        cursor.execute(
            'UPDATE ledger_logentry SET payload = %s, leaf_hash = %s WHERE "index" = 12',
            [forged, merkle.leaf_hash(forged.encode())],
        )

    with pytest.raises(CommandError, match="first bad index: 12"):
        call_command("verify_log")

    assert "signed root does not match" in capsys.readouterr().err


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_gapless_indices_in_commit_order(platform, model_v1):
    barrier = threading.Barrier(6)
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait(timeout=10)
            for batch in range(5):
                services.record_decisions(
                    platform=platform,
                    decisions=[
                        as_input(decision_payload(puid=f"w{worker}-b{batch}-{i}")) for i in range(7)
                    ],
                )
                if batch % 2:
                    log.seal_checkpoint()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    entries = stored_entries()
    assert [i for i, _, _, _ in entries] == list(range(1 + 6 * 5 * 7))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(DISTINCT log_index) FROM moderation_decision")
        assert cursor.fetchone()[0] == 210
    leaves = [leaf for _, _, _, leaf in entries]
    assert log.root(len(leaves)) == merkle.root(leaves)
    for checkpoint in Checkpoint.objects.all():
        assert bytes(checkpoint.root) == merkle.root(leaves[: checkpoint.size])
    # Every batch's seven entries are contiguous: a transaction's appends are not interleaved.
    payload_puids = [json.loads(p)["puid"] for _, t, p, _ in entries if t == "decision"]
    for start in range(0, 210, 7):
        assert len({p.rsplit("-", 1)[0] for p in payload_puids[start : start + 7]}) == 1


def test_verify_log_reads_the_log_in_chunks_and_still_checks_every_node(
    platform, model_v1, capsys, monkeypatch
):
    from ledger import audit

    monkeypatch.setattr(audit, "CHUNK", 7)  # chunks that cut across every subtree size
    record(platform, 60)
    log.seal_checkpoint()
    call_command("verify_log")
    assert "OK 61 entries and 1 checkpoints verified." in capsys.readouterr().out

    with triggers_disabled("ledger_lognode") as cursor:
        cursor.execute(
            'UPDATE ledger_lognode SET hash = %s WHERE level = 2 AND "index" = 9',
            [hashlib.sha256(b"forged").digest()],
        )

    with pytest.raises(CommandError, match="first bad index: 36"):
        call_command("verify_log")
    assert "stored node 2/9 (entries 36 to 39)" in capsys.readouterr().err
