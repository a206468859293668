"""Schemathesis hooks for fuzzing this API from its OpenAPI schema.

Load them with `SCHEMATHESIS_HOOKS=tests.schemathesis_hooks` (the CLI) or by importing this
module (pytest). The EU-compatible endpoints refuse a puid already recorded, as the EU does
(422), which a schema cannot say; a generator repeats small values ("0") all the time. Every
valid puid a generated statement carries is made unique before it is sent, as a real client's
are, so that a 422 means the statement itself was refused. Invalid puids are left as they are.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import schemathesis

# moderation.dsa's puid rule, restated so that the CLI can load this module without Django
# (tests/moderation/test_dsa_openapi.py checks that the two agree).
PUID = re.compile(r"[a-zA-Z0-9_-]+")
PUID_MAX_LENGTH = 500

_serial = itertools.count(1)


def is_puid(value: object) -> bool:
    return isinstance(value, str) and len(value) <= PUID_MAX_LENGTH and bool(PUID.fullmatch(value))


_DSA_PATHS = ("/api/v1/statement", "/api/v1/statements")


def unique_puids(body: Any) -> None:
    """Give each valid puid in a statement, or in a batch's statements, a unique suffix."""
    statements = body.get("statements") if isinstance(body, dict) else None
    items = statements if isinstance(statements, list) else [body]
    for item in items:
        if isinstance(item, dict) and is_puid(item.get("puid")):
            suffix = f"-{next(_serial)}"
            item["puid"] = item["puid"][: PUID_MAX_LENGTH - len(suffix)] + suffix


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.method.upper() == "POST" and case.path in _DSA_PATHS:
        unique_puids(case.body)
