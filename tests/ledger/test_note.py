"""C2SP signed notes, checkpoints and tlog-proofs: spec vectors, tampering, malformed input."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    format_checkpoint,
    format_tlog_proof,
    generate_skey,
    key_id,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_tlog_proof,
    sign_note,
    verify_checkpoint,
    verify_note,
    verify_tlog_proof,
    vkey,
)

# signed-note spec example (reference/transparency-log.md §2.1).
FOO_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
FOO_NOTE = (
    "This is an example message.\n"
    "\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXm"
    "RKuwHjG1Yu72IneyaQM=\n"
)

# golang.org/x/mod/sumdb/note test vector.
PN_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PN_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PN_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PN_LINE = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngot"
    "pRZb6KE6RyyBwJnAM=\n"
)

# Self-made checkpoint vector: Ed25519 seed 00..1f, the 8-leaf golden tree.
ORIGIN = "example.org/moderation-log"
LOG_VKEY = "example.org/moderation-log+0b01918f+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
ROOT8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
CHECKPOINT_BODY = f"{ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
CHECKPOINT_LINE = (
    "— example.org/moderation-log CwGRjw8V0XVlTx15eY03CriVP4sHwOxMNbaqddj1pBNlXLK3QqMo3ocF3owm"
    "WFhBzpImfrQJe1mnRz8JQEmnH+AU1gg=\n"
)
SIGNED_CHECKPOINT = CHECKPOINT_BODY + "\n" + CHECKPOINT_LINE

GOLDEN_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657"]
GOLDEN_INPUTS.append("606162636465666768696a6b6c6d6e6f")
GOLDEN_LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in GOLDEN_INPUTS]


def log_signer() -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def other_signer(name: str = "witness.example/w1") -> Signer:
    return Signer(name, Ed25519PrivateKey.generate())


# Spec and Go vectors.


def test_spec_example_verifies_under_its_vkey() -> None:
    verifier = Verifier.from_vkey(FOO_VKEY)
    assert verifier.key_id.hex() == "530d903a"
    assert verify_note(FOO_NOTE, [verifier]) == "This is an example message.\n"
    assert verify_note(FOO_NOTE.encode(), [verifier]) == "This is an example message.\n"


def test_go_skey_reproduces_the_signature_line_byte_for_byte() -> None:
    signer = Signer.from_skey(PN_SKEY)
    assert signer.vkey == PN_VKEY
    assert signer.skey() == PN_SKEY
    assert signer.sign(PN_TEXT) == PN_LINE
    assert verify_note(PN_TEXT + "\n" + PN_LINE, [Verifier.from_vkey(PN_VKEY)]) == PN_TEXT


def test_self_made_checkpoint_vector() -> None:
    signer = log_signer()
    assert signer.vkey == LOG_VKEY
    assert format_checkpoint(ORIGIN, 8, merkle.root(GOLDEN_LEAVES)) == CHECKPOINT_BODY
    assert sign_note(CHECKPOINT_BODY, [signer]) == SIGNED_CHECKPOINT
    checkpoint = verify_checkpoint(SIGNED_CHECKPOINT, [Verifier.from_vkey(LOG_VKEY)], ORIGIN)
    assert checkpoint == Checkpoint(ORIGIN, 8, ROOT8)
    assert checkpoint.body() == CHECKPOINT_BODY


def test_key_id_is_the_first_four_bytes_of_the_name_type_key_hash() -> None:
    verifier = Verifier.from_vkey(PN_VKEY)
    assert key_id("PeterNeumann", 0x01, verifier.public_bytes).hex() == "c74f20a3"
    assert vkey("PeterNeumann", verifier.public_key) == PN_VKEY


def test_generated_keys_round_trip() -> None:
    skey, new_vkey = generate_skey("example.net/log")
    signer = Signer.from_skey(skey)
    assert signer.vkey == new_vkey
    assert new_vkey.startswith("example.net/log+")
    note = sign_note("hello\n", [signer])
    assert verify_note(note, [Verifier.from_vkey(new_vkey)]) == "hello\n"


# Verification rules (signed-note "Signatures").


def test_tampered_text_is_rejected() -> None:
    verifier = Verifier.from_vkey(FOO_VKEY)
    with pytest.raises(NoteError):
        verify_note(FOO_NOTE.replace("example", "exemplary"), [verifier])
    with pytest.raises(NoteError):
        verify_note(SIGNED_CHECKPOINT.replace("\n8\n", "\n9\n"), [log_signer().verifier])


def test_tampered_signature_is_rejected() -> None:
    raw = bytearray(base64.b64decode(CHECKPOINT_LINE.split()[-1]))
    raw[10] ^= 1
    line = f"— {ORIGIN} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(CHECKPOINT_BODY + "\n" + line, [log_signer().verifier])


def test_signatures_from_unknown_keys_are_ignored() -> None:
    witness = other_signer()
    note = sign_note(CHECKPOINT_BODY, [witness, log_signer()])
    opened = open_note(note, [log_signer().verifier])
    assert opened.text == CHECKPOINT_BODY
    assert [v.name for v in opened.verified_by] == [ORIGIN]
    assert [s.name for s in opened.unverified] == ["witness.example/w1"]


def test_a_key_sharing_only_the_name_of_a_known_key_is_unknown() -> None:
    impostor = other_signer(ORIGIN)  # same name, different key, so a different key ID
    note = sign_note(CHECKPOINT_BODY, [impostor, log_signer()])
    assert verify_note(note, [log_signer().verifier]) == CHECKPOINT_BODY
    with pytest.raises(NoteError, match="not signed by any known key"):
        verify_note(sign_note(CHECKPOINT_BODY, [impostor]), [log_signer().verifier])


def test_a_note_with_no_known_signature_is_rejected() -> None:
    with pytest.raises(NoteError, match="not signed by any known key"):
        verify_note(FOO_NOTE, [log_signer().verifier])
    with pytest.raises(NoteError):
        verify_note(FOO_NOTE, [])


def test_a_bad_signature_from_a_known_key_rejects_the_note_even_if_another_verifies() -> None:
    witness = other_signer()
    good = sign_note(CHECKPOINT_BODY, [log_signer()])
    forged = witness.sign(CHECKPOINT_BODY)
    raw = bytearray(base64.b64decode(forged.split()[-1]))
    raw[-1] ^= 0x80
    bad_line = f"— {witness.name} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(good + bad_line, [log_signer().verifier, witness.verifier])


def test_sixteen_signatures_are_accepted() -> None:
    witnesses = [other_signer(f"witness.example/w{i}") for i in range(15)]
    note = sign_note(CHECKPOINT_BODY, [*witnesses, log_signer()])
    opened = open_note(note, [w.verifier for w in witnesses] + [log_signer().verifier])
    assert len(opened.verified_by) == 16


def test_colliding_verifiers_are_refused() -> None:
    a = log_signer().verifier
    b = Verifier(ORIGIN, Ed25519PrivateKey.generate().public_key())
    b.key_id = a.key_id  # simulate a name + key ID collision
    with pytest.raises(NoteError, match="share name and key ID"):
        open_note(SIGNED_CHECKPOINT, [a, b])


# Malformed notes and keys.


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(CHECKPOINT_BODY, id="no signature block"),
        pytest.param(CHECKPOINT_BODY + "\n", id="empty signature block"),
        pytest.param(SIGNED_CHECKPOINT[:-1], id="no final newline"),
        pytest.param(SIGNED_CHECKPOINT.replace("— ", "- "), id="hyphen not em dash"),
        pytest.param(SIGNED_CHECKPOINT.replace("— ", "—"), id="no space after dash"),
        pytest.param(SIGNED_CHECKPOINT.replace(f"{ORIGIN} C", f"{ORIGIN}C"), id="no space"),
        pytest.param(SIGNED_CHECKPOINT.replace("\n8\n", "\n8\r\n"), id="carriage return"),
        pytest.param(SIGNED_CHECKPOINT.replace("\n8\n", "\n8\t\n"), id="tab"),
        pytest.param(SIGNED_CHECKPOINT.replace("\n8\n", "\n\x008\n"), id="nul"),
        pytest.param(SIGNED_CHECKPOINT + "\n", id="trailing blank line"),
        pytest.param(SIGNED_CHECKPOINT + "garbage\n", id="garbage signature line"),
        pytest.param(SIGNED_CHECKPOINT.replace("gg=\n", "g=\n"), id="bad base64 padding"),
        pytest.param(SIGNED_CHECKPOINT.replace("gg=\n", "gh=\n"), id="non-canonical base64"),
        pytest.param(f"{CHECKPOINT_BODY}\n— {ORIGIN} AAAA\n", id="signature too short"),
        pytest.param(SIGNED_CHECKPOINT.replace(f"— {ORIGIN}", "— a+b"), id="plus in name"),
        pytest.param(b"caf\xc3\n\n" + CHECKPOINT_LINE.encode(), id="invalid utf-8"),
        pytest.param(42, id="not text"),
    ],
)
def test_malformed_notes_are_rejected(note: str | bytes) -> None:
    with pytest.raises(NoteError):
        verify_note(note, [log_signer().verifier])


def test_note_text_may_contain_blank_lines_and_runs_to_the_last_one() -> None:
    text = "first\n\nsecond\n"
    note = sign_note(text, [log_signer()])
    assert parse_note(note).text == text
    assert verify_note(note, [log_signer().verifier]) == text


def test_too_many_signature_lines_are_rejected() -> None:
    line = log_signer().sign(CHECKPOINT_BODY)
    with pytest.raises(NoteError, match="more than"):
        parse_note(CHECKPOINT_BODY + "\n" + line * 101)


@pytest.mark.parametrize(
    "text",
    ["", "no newline", "bell\x07\n", "cr\r\n"],
)
def test_signing_refuses_text_that_is_not_a_valid_note_text(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, [log_signer()])


@pytest.mark.parametrize(
    "bad",
    [
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong ID
        "example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong name
        "example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # bad base64
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x02+
        "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_malformed_vkeys_are_rejected(bad: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(bad)


@pytest.mark.parametrize(
    "bad",
    [
        PN_SKEY.replace("PRIVATE+KEY+", "PRIVATE+"),
        PN_SKEY.replace("c74f20a3", "c74f20a4"),
        PN_SKEY.replace("PeterNeumann", "PaulNeumann"),
        PN_SKEY[:-1],
        PN_VKEY,
    ],
)
def test_malformed_skeys_are_rejected(bad: str) -> None:
    with pytest.raises(NoteError):
        Signer.from_skey(bad)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "line\nbreak"])
def test_invalid_key_names_are_refused(name: str) -> None:
    with pytest.raises(NoteError):
        Signer(name, Ed25519PrivateKey.generate())


# Checkpoints (tlog-checkpoint "Note text").


def test_checkpoint_with_extension_lines_round_trips() -> None:
    body = format_checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT, ["ext one", "ext two"])
    assert body == f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\next two\n"
    assert parse_checkpoint(body) == Checkpoint(
        ORIGIN, 0, merkle.EMPTY_ROOT, ("ext one", "ext two")
    )


def test_spec_example_checkpoint_parses() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = parse_checkpoint(body)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert len(checkpoint.root) == 32


ROOT8_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n08\n{ROOT8_B64}\n",
        f"{ORIGIN}\n+8\n{ROOT8_B64}\n",
        f"{ORIGIN}\n-8\n{ROOT8_B64}\n",
        f"{ORIGIN}\n 8\n{ROOT8_B64}\n",
        f"{ORIGIN}\n٨\n{ROOT8_B64}\n",  # an Arabic-Indic eight: a digit, but not ASCII
        f"{ORIGIN}\n18446744073709551616\n{ROOT8_B64}\n",
        f"{ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQw==\n",  # 31 bytes
        f"{ORIGIN}\n8\n{ROOT8_B64[:-1]}\n",
        f"{ORIGIN}\n8\n{ROOT8_B64}",
        f"{ORIGIN}\n8\n",
        f"\n8\n{ROOT8_B64}\n",
        f"{ORIGIN}\n8\n{ROOT8_B64}\n\n",
        f"{ORIGIN}\n8\n{ROOT8_B64}\next\n\n",
    ],
)
def test_malformed_checkpoints_are_rejected(body: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(body)


def test_checkpoint_from_another_origin_is_rejected() -> None:
    with pytest.raises(NoteError, match="origin"):
        verify_checkpoint(SIGNED_CHECKPOINT, [log_signer().verifier], "example.org/other-log")


def test_format_checkpoint_refuses_bad_fields() -> None:
    with pytest.raises(NoteError):
        format_checkpoint("", 1, ROOT8)
    with pytest.raises(NoteError):
        format_checkpoint(ORIGIN, -1, ROOT8)
    with pytest.raises(NoteError):
        format_checkpoint(ORIGIN, 1, ROOT8[:31])
    with pytest.raises(NoteError):
        format_checkpoint(ORIGIN, 1, ROOT8, [""])


# tlog-proof (offline receipts for creators).


def test_tlog_proof_round_trips_and_verifies() -> None:
    tree = merkle.MemoryTree(GOLDEN_LEAVES)
    proof = tree.inclusion_proof(5)
    text = format_tlog_proof(5, proof, SIGNED_CHECKPOINT, extra=b"decision 42")
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ZGVjaXNpb24gNDI=\nindex 5\n")
    assert text.endswith("\n\n" + SIGNED_CHECKPOINT)
    parsed = parse_tlog_proof(text)
    assert parsed.index == 5
    assert list(parsed.proof) == proof
    assert parsed.checkpoint == SIGNED_CHECKPOINT
    assert parsed.extra == b"decision 42"
    verifiers = [Verifier.from_vkey(LOG_VKEY)]
    assert verify_tlog_proof(text, GOLDEN_LEAVES[5], verifiers, ORIGIN)
    assert verify_tlog_proof(text.encode(), GOLDEN_LEAVES[5], verifiers, ORIGIN)


def test_tlog_proof_without_extra_and_for_a_single_leaf_tree() -> None:
    signed = sign_note(format_checkpoint(ORIGIN, 1, GOLDEN_LEAVES[0]), [log_signer()])
    text = format_tlog_proof(0, [], signed)
    assert text == f"c2sp.org/tlog-proof@v1\nindex 0\n\n{signed}"
    assert parse_tlog_proof(text).extra is None
    assert verify_tlog_proof(text, GOLDEN_LEAVES[0], [log_signer().verifier], ORIGIN)


def test_tlog_proof_with_witness_cosignatures_still_verifies() -> None:
    signed = sign_note(CHECKPOINT_BODY, [log_signer(), other_signer()])
    proof = merkle.MemoryTree(GOLDEN_LEAVES).inclusion_proof(3)
    text = format_tlog_proof(3, proof, signed)
    assert verify_tlog_proof(text, GOLDEN_LEAVES[3], [log_signer().verifier], ORIGIN)


def test_tlog_proof_rejects_wrong_leaf_key_origin_or_tampering() -> None:
    proof = merkle.MemoryTree(GOLDEN_LEAVES).inclusion_proof(5)
    text = format_tlog_proof(5, proof, SIGNED_CHECKPOINT)
    leaf, verifiers = GOLDEN_LEAVES[5], [log_signer().verifier]
    first, second = (base64.b64encode(h).decode() for h in proof[:2])
    assert verify_tlog_proof(text, leaf, verifiers, ORIGIN)
    assert not verify_tlog_proof(text, GOLDEN_LEAVES[4], verifiers, ORIGIN)
    assert not verify_tlog_proof(text, leaf, [other_signer(ORIGIN).verifier], ORIGIN)
    assert not verify_tlog_proof(text, leaf, verifiers, "example.org/other")
    assert not verify_tlog_proof(text.replace("index 5", "index 4"), leaf, verifiers, ORIGIN)
    swapped = text.replace(first, "@").replace(second, first).replace("@", second)
    assert not verify_tlog_proof(swapped, leaf, verifiers, ORIGIN)
    assert not verify_tlog_proof(text.replace("\n8\n", "\n9\n"), leaf, verifiers, ORIGIN)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace("index 5", "index 05"),
        lambda t: t.replace("index 5", "index  5"),
        lambda t: t.replace("index 5\n", ""),
        lambda t: t.replace("index 5\n", "index 5\nnot base64\n"),
        lambda t: t.replace("index 5\n", "index 5\nAAAA\n"),
        lambda t: t.replace("index 5\n", "index 5\nextra AAAA\n"),
        lambda t: t.split("\n\n", 1)[0] + "\n",
        lambda t: t.replace("\n\n", "\n\n\n", 1),
        lambda t: t[:-1],
    ],
)
def test_malformed_tlog_proofs_are_rejected(mutate: Callable[[str], str]) -> None:
    proof = merkle.MemoryTree(GOLDEN_LEAVES).inclusion_proof(5)
    text = format_tlog_proof(5, proof, SIGNED_CHECKPOINT)
    bad = mutate(text)
    assert not verify_tlog_proof(bad, GOLDEN_LEAVES[5], [log_signer().verifier], ORIGIN)
    with pytest.raises(NoteError):
        checkpoint = parse_tlog_proof(bad).checkpoint
        verify_checkpoint(checkpoint, [log_signer().verifier], ORIGIN)
