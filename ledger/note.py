"""C2SP signed notes, checkpoints and tlog-proof receipts, with Ed25519 keys.

Floor 1 of DESIGN.md: standard library and `cryptography` only.

Specifications followed (section names as in the C2SP documents):

- signed-note v1.0.0: note layout ("Format"), key IDs and verification rules
  ("Signatures"), Ed25519 signature type 0x01 ("Ed25519 signatures");
- tlog-checkpoint v1.0.0: the note text of a signed tree head ("Note text");
- tlog-proof v1: an offline receipt of inclusion ("Format");
- the key string formats of golang.org/x/mod/sumdb/note (``PRIVATE+KEY+...`` signer keys and
  ``name+keyid+key`` verifier keys), which signed-note tooling shares.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger import merkle

__all__ = [
    "ED25519",
    "MAX_SIGNATURES",
    "TLOG_PROOF_HEADER",
    "Checkpoint",
    "NoteError",
    "NoteSignature",
    "OpenedNote",
    "ParsedNote",
    "Signer",
    "TlogProof",
    "Verifier",
    "format_checkpoint",
    "format_tlog_proof",
    "generate_skey",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "parse_note",
    "parse_tlog_proof",
    "sign_note",
    "verify_checkpoint",
    "verify_note",
    "verify_tlog_proof",
    "vkey",
]

ED25519 = 0x01
"""signed-note signature type byte for Ed25519 over the note text."""

MAX_SIGNATURES = 100
"""signed-note asks verifiers to bound the signature count but to accept at least 16."""

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"

_EM_DASH_PREFIX = "\u2014 "
_SKEY_PREFIX = "PRIVATE+KEY+"
_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_MAX_UINT64 = (1 << 64) - 1
# tlog-checkpoint and tlog-proof: ASCII decimal, no leading zeroes unless the value is 0.
# re.ASCII keeps \d out; [0-9] alone already excludes other Unicode digits.
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A note, key, checkpoint or proof is malformed, or its signatures do not verify."""


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key name, the 4-byte key ID, and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class ParsedNote:
    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note whose text is authenticated by ``verified_by`` (every known key that signed)."""

    text: str
    verified_by: tuple[Verifier, ...]
    unverified: tuple[NoteSignature, ...]


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """SHA-256(key name || 0x0A || signature type || public key)[:4] (signed-note, "Signatures")."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    # signed-note: "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or
    # plus (U+002B) characters." Control characters are excluded too: a name ends up in a
    # signature line, where a newline would forge a line break.
    if (
        not isinstance(name, str)
        or not name
        or "+" in name
        or any(ch.isspace() or ch < "\x20" for ch in name)
    ):
        raise NoteError(f"invalid key name {name!r}")


def _b64decode(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4): padding required, canonical encoding only.

    Rejecting non-canonical encodings (stray bits in the last character) keeps signature
    lines and proofs free of malleable variants.
    """
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("invalid base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise NoteError("non-canonical base64")
    return data


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _parse_decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise NoteError(f"invalid {what} {text!r}")
    value = int(text)
    if value > _MAX_UINT64:
        raise NoteError(f"{what} exceeds 2**64 - 1")
    return value


def _check_text(text: str) -> None:
    """signed-note "Format": valid UTF-8, no ASCII control character but newline, and the
    note text itself non-empty and ending in a newline."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_chars(text)


def _check_chars(text: str) -> None:
    if any(ch < "\x20" and ch != "\n" for ch in text):
        raise NoteError("note contains a control character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot come from valid UTF-8
        raise NoteError("note is not valid UTF-8") from exc


def _decode(note: str | bytes) -> str:
    if not isinstance(note, str | bytes):
        raise NoteError("a note is text")
    if isinstance(note, bytes):
        try:
            return note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not valid UTF-8") from exc
    return note


class Verifier:
    """An Ed25519 note verifier key: the (name, key ID) pair picks out its signatures."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        _check_name(name)
        self.name = name
        self.public_key = public_key
        self.public_bytes = public_key.public_bytes_raw()
        self.key_id = key_id(name, ED25519, self.public_bytes)

    @classmethod
    def from_vkey(cls, vkey_text: str) -> Verifier:
        """Parses ``<name>+<hex key ID>+<base64(0x01 || public key)>``.

        The key ID is recomputed and must match, as golang.org/x/mod/sumdb/note does, so a
        typo in a configured key fails at load time rather than at every verification.
        """
        # Split at the first two "+" only: base64 key data may itself contain "+".
        parts = vkey_text.split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key has the form name+keyid+key")
        name, hex_id, key_b64 = parts
        _check_name(name)
        if not re.fullmatch(r"[0-9a-fA-F]{8}", hex_id):
            raise NoteError("verifier key ID must be 8 hex digits")
        key = _b64decode(key_b64)
        if len(key) != 1 + _ED25519_KEY_SIZE or key[0] != ED25519:
            raise NoteError("only Ed25519 verifier keys (type 0x01) are supported")
        if key_id(name, ED25519, key[1:]).hex() != hex_id.lower():
            raise NoteError("verifier key ID does not match the key")
        return cls(name, Ed25519PublicKey.from_public_bytes(key[1:]))

    @property
    def vkey(self) -> str:
        return vkey(self.name, self.public_key)

    def verify(self, text: str, signature: bytes) -> bool:
        if len(signature) != _ED25519_SIG_SIZE:
            return False
        try:
            self.public_key.verify(signature, text.encode("utf-8"))
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.vkey!r})"


class Signer:
    """An Ed25519 note signer (signature type 0x01)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self.name = name
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(name, ED25519, self.public_key.public_bytes_raw())

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parses ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte seed)>``."""
        if not skey.startswith(_SKEY_PREFIX):
            raise NoteError("a signer key starts with PRIVATE+KEY+")
        parts = skey[len(_SKEY_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise NoteError("a signer key has the form PRIVATE+KEY+name+keyid+key")
        name, hex_id, key_b64 = parts
        _check_name(name)
        key = _b64decode(key_b64)
        if len(key) != 1 + _ED25519_KEY_SIZE or key[0] != ED25519:
            raise NoteError("only Ed25519 signer keys (type 0x01) are supported")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(key[1:]))
        if signer.key_id.hex() != hex_id.lower():
            raise NoteError("signer key ID does not match the key")
        return signer

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        return vkey(self.name, self.public_key)

    def skey(self) -> str:
        """The private key as an skey string. It is a secret: keep it out of logs."""
        key = _b64encode(bytes([ED25519]) + self._private_key.private_bytes_raw())
        return f"{_SKEY_PREFIX}{self.name}+{self.key_id.hex()}+{key}"

    def sign(self, text: str) -> str:
        """The signature line ``— <name> <base64(key ID || Ed25519(text))>\\n`` for ``text``."""
        _check_text(text)
        signature = self._private_key.sign(text.encode("utf-8"))
        return f"{_EM_DASH_PREFIX}{self.name} {_b64encode(self.key_id + signature)}\n"

    def __repr__(self) -> str:
        return f"Signer({self.vkey!r})"


def vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """``<name>+<hex key ID>+<base64(0x01 || public key)>``, the verifier key string."""
    _check_name(name)
    raw = public_key.public_bytes_raw()
    return f"{name}+{key_id(name, ED25519, raw).hex()}+{_b64encode(bytes([ED25519]) + raw)}"


def generate_skey(name: str) -> tuple[str, str]:
    """A new Ed25519 key pair as (skey, vkey) strings. The skey is secret."""
    signer = Signer(name, Ed25519PrivateKey.generate())
    return signer.skey(), signer.vkey


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """The signed note: text, a blank line, then one signature line per signer."""
    if not signers:
        raise NoteError("a note needs at least one signature")
    _check_text(text)
    return text + "\n" + "".join(signer.sign(text) for signer in signers)


def parse_note(note: str | bytes) -> ParsedNote:
    """Splits a signed note into its text and signature lines without verifying anything.

    signed-note "Format": the text runs up to the last blank line; after it come one or more
    lines ``— <name> <base64(key ID || signature)>``, each ending in a newline.
    """
    message = _decode(note)
    _check_chars(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(_EM_DASH_PREFIX):
            raise NoteError("signature line must start with an em dash and a space")
        name, sep, sig_b64 = line[len(_EM_DASH_PREFIX) :].partition(" ")
        if not sep or not sig_b64:
            raise NoteError("signature line must be '— <name> <signature>'")
        _check_name(name)
        raw = _b64decode(sig_b64)
        if len(raw) < 5:
            raise NoteError("signature shorter than a key ID and one byte")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return ParsedNote(text, tuple(signatures))


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> OpenedNote:
    """Parses and verifies a signed note, following signed-note "Signatures":

    - signatures from unknown keys are ignored (a key is known when both its name and its
      key ID match a verifier; sharing only one of the two does not make it known);
    - every signature from a known key must verify, or the whole note is rejected (the spec's
      SHOULD; a bad signature from a key we trust means something is wrong);
    - at least one known key must have signed, or the note is rejected.
    Raises `NoteError` on rejection.
    """
    parsed = parse_note(note)
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        other = known.setdefault((verifier.name, verifier.key_id), verifier)
        if other.public_bytes != verifier.public_bytes:
            raise NoteError(f"two verifier keys share name and key ID {verifier.name!r}")
    verified: dict[tuple[str, bytes], Verifier] = {}
    unverified: list[NoteSignature] = []
    for sig in parsed.signatures:
        signer = known.get((sig.name, sig.key_id))
        if signer is None:
            unverified.append(sig)
            continue
        if not signer.verify(parsed.text, sig.signature):
            raise NoteError(f"invalid signature by known key {sig.name!r}")
        verified[(sig.name, sig.key_id)] = signer
    if not verified:
        raise NoteError("note is not signed by any known key")
    return OpenedNote(parsed.text, tuple(verified.values()), tuple(unverified))


def verify_note(note: str | bytes, verifiers: Iterable[Verifier]) -> str:
    """The authenticated text of ``note``; raises `NoteError` unless `open_note` accepts it."""
    return open_note(note, verifiers).text


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed tree head's note text (tlog-checkpoint "Note text")."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        return format_checkpoint(self.origin, self.size, self.root, self.extensions)


def format_checkpoint(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """``origin\\nsize\\nbase64(root)\\n``, then any extension lines (NOT RECOMMENDED)."""
    if not origin or "\n" in origin:
        raise NoteError("origin must be one non-empty line")
    if type(size) is not int or not 0 <= size <= _MAX_UINT64:
        raise NoteError(f"invalid tree size {size!r}")
    if len(root) != merkle.HASH_SIZE:
        raise NoteError("root must be a 32-byte hash")
    for line in extensions:
        if not line or "\n" in line:
            raise NoteError("extension lines must be non-empty single lines")
    text = "".join(f"{line}\n" for line in [origin, str(size), _b64encode(root), *extensions])
    _check_text(text)
    return text


def parse_checkpoint(body: str) -> Checkpoint:
    """Parses checkpoint note text strictly: at least three non-empty lines ending in a
    newline; decimal size without leading zeroes; base64 of exactly 32 bytes as root."""
    _check_text(body)
    lines = body[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("a checkpoint has at least three non-empty lines")
    origin, size_text, root_b64, *extensions = lines
    size = _parse_decimal(size_text, "tree size")
    root = _b64decode(root_b64)
    if len(root) != merkle.HASH_SIZE:
        raise NoteError("checkpoint root must be a 32-byte hash")
    return Checkpoint(origin, size, root, tuple(extensions))


def verify_checkpoint(note: str | bytes, verifiers: Iterable[Verifier], origin: str) -> Checkpoint:
    """A signed checkpoint from the log ``origin``: verified note, parsed body, origin checked.

    The origin is compared with the text, not with the key name, because the key name only
    SHOULD equal the origin (tlog-checkpoint "Signatures"). Raises `NoteError`.
    """
    checkpoint = parse_checkpoint(verify_note(note, verifiers))
    if checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint


@dataclass(frozen=True, slots=True)
class TlogProof:
    """A parsed c2sp.org/tlog-proof@v1. ``extra`` is NOT authenticated by anything."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None


def format_tlog_proof(
    index: int, proof: Sequence[bytes], signed_checkpoint: str, extra: bytes | None = None
) -> str:
    """A tlog-proof: header, optional ``extra``, ``index``, inclusion path, blank line, then the
    signed checkpoint verbatim (tlog-proof "Format")."""
    if type(index) is not int or not 0 <= index <= _MAX_UINT64:
        raise NoteError(f"invalid index {index!r}")
    if any(len(h) != merkle.HASH_SIZE for h in proof):
        raise NoteError("inclusion proof hashes must be 32 bytes")
    parse_note(signed_checkpoint)
    lines = [TLOG_PROOF_HEADER]
    if extra is not None:
        lines.append(f"extra {_b64encode(extra)}")
    lines.append(f"index {index}")
    lines.extend(_b64encode(h) for h in proof)
    return "".join(f"{line}\n" for line in lines) + "\n" + signed_checkpoint


def parse_tlog_proof(text: str | bytes) -> TlogProof:
    """Parses a tlog-proof strictly; the checkpoint is split off but not verified here."""
    message = _decode(text)
    head, sep, checkpoint = message.partition("\n\n")
    if not sep:
        raise NoteError("tlog-proof has no checkpoint")
    lines = head.split("\n")
    if lines[0] != TLOG_PROOF_HEADER:
        raise NoteError(f"tlog-proof must start with {TLOG_PROOF_HEADER}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _b64decode(lines[position][len("extra ") :])
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise NoteError("tlog-proof has no index line")
    index = _parse_decimal(lines[position][len("index ") :], "index")
    proof = []
    for line in lines[position + 1 :]:
        h = _b64decode(line)
        if len(h) != merkle.HASH_SIZE:
            raise NoteError("inclusion proof hashes must be 32 bytes")
        proof.append(h)
    parse_note(checkpoint)
    return TlogProof(index, tuple(proof), checkpoint, extra)


def verify_tlog_proof(
    text: str | bytes, leaf_hash: bytes, verifiers: Iterable[Verifier], origin: str
) -> bool:
    """Checks a tlog-proof for the entry whose RFC 9162 leaf hash is ``leaf_hash``.

    Steps as in tlog-proof: the checkpoint must verify under ``verifiers`` (the log's keys)
    and name ``origin``, and the inclusion proof must lead from ``leaf_hash`` at ``index`` to
    its root. Witness cosignatures are ignored here as unknown keys; a k-of-n witness policy
    belongs on top of this. Never raises; any failure is False.
    """
    try:
        parsed = parse_tlog_proof(text)
        checkpoint = verify_checkpoint(parsed.checkpoint, verifiers, origin)
    except NoteError:
        return False
    return merkle.verify_inclusion(
        leaf_hash, parsed.index, checkpoint.size, parsed.proof, checkpoint.root
    )
