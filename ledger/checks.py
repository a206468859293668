"""System checks: a broken production configuration stops the service at start-up.

`manage.py check`, `runserver`, `migrate` and the gunicorn config (`gunicorn.conf.py`) run
them, so a bad key or secret is refused before the first request instead of at the first
checkpoint or the first pseudonym. Messages name the setting and say what to fix; they never
quote a secret.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from ledger import note

GENERATE_KEY = (
    "python -c \"from ledger.note import generate_skey; print(generate_skey('{origin}')[0])\""
)


@register(deploy=False)
def check_log_signing_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The log's key must parse, and be named after the log: a checkpoint's signature line
    carries the key name, and verifiers look the key up by the log's origin (C2SP
    tlog-checkpoint), so a key under another name signs checkpoints nobody can verify."""
    skey = settings.LEDGER_LOG_SIGNING_KEY
    origin = settings.LEDGER_LOG_ORIGIN
    if not skey:
        # Required with DEBUG off (settings refuse to load without it); development generates
        # one into LEDGER_LOG_KEY_FILE.
        return []
    try:
        signer = note.Signer.from_skey(skey)
    except (note.NoteError, ValueError) as exc:
        return [
            Error(
                f"LEDGER_LOG_SIGNING_KEY is not a valid note signer key: {exc}.",
                hint="Set it to an Ed25519 skey (PRIVATE+KEY+<name>+<id>+<key>), e.g. the "
                "first value printed by " + GENERATE_KEY.format(origin=origin),
                id="ledger.E001",
            )
        ]
    if signer.name != origin:
        return [
            Error(
                f"LEDGER_LOG_SIGNING_KEY is named {signer.name!r} but LEDGER_LOG_ORIGIN is "
                f"{origin!r}: checkpoints would be signed under a name verifiers do not expect.",
                hint="Set LEDGER_LOG_ORIGIN to the key's name, or generate a key for the origin: "
                + GENERATE_KEY.format(origin=origin),
                id="ledger.E002",
            )
        ]
    return []


@register(deploy=False)
def check_distinct_secrets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SECRET_KEY signs sessions and encrypts the stored EU tokens; the pseudonym secret keys
    the public pseudonyms and must never change. One value for both ties them: rotating a
    leaked SECRET_KEY would change every pseudonym, and a leak of one is a leak of the other."""
    if settings.SECRET_KEY == settings.PSEUDONYM_SECRET:
        return [
            Error(
                "SECRET_KEY and LEDGER_PSEUDONYM_SECRET are the same value.",
                hint="Give each its own random value of 32+ characters, e.g. "
                'python -c "import secrets; print(secrets.token_urlsafe(48))"; keep '
                "LEDGER_PSEUDONYM_SECRET once pseudonyms are published and change SECRET_KEY "
                "(the platforms then give their EU tokens again).",
                id="ledger.E003",
            )
        ]
    return []
