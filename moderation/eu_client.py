"""A small client for the EU DSA Transparency Database's submission API (standard library only).

It returns what happened instead of raising, so the forwarder can tell a refusal it must not
retry from a failure it must retry, and a failure whose outcome is unknown (the request may have
arrived) from one where nothing was sent.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class EuAnswer:
    status: int  # 0 when no HTTP answer came back
    body: Any = None
    retry_after: float | None = None
    error: str = ""
    # The request may have reached the EU although no answer came back.
    outcome_unknown: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def _request(
    method: str, url: str, token: str, body: bytes | None = None, timeout: float = TIMEOUT_SECONDS
) -> EuAnswer:
    request = urllib.request.Request(  # noqa: S310 (the URL is the configured https endpoint)
        url,
        data=body,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": "moderation-ledger-forwarder/1",
        },
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return _answer(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return _answer(exc.code, exc.read(), dict(exc.headers or {}))
    except TimeoutError as exc:
        return EuAnswer(status=0, error=f"timed out: {exc}", outcome_unknown=True)
    except urllib.error.URLError as exc:
        # Refused connections never reached the EU; anything else might have.
        refused = isinstance(exc.reason, ConnectionRefusedError)
        return EuAnswer(status=0, error=f"no answer: {exc.reason}", outcome_unknown=not refused)
    except (ConnectionError, OSError) as exc:
        return EuAnswer(status=0, error=f"connection failed: {exc}", outcome_unknown=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The existing-puid probe answers 302 for "found": read it, do not follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _answer(status: int, raw: bytes, headers: dict[str, str]) -> EuAnswer:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    retry_after = None
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value:
        try:
            retry_after = float(value)
        except ValueError:
            retry_after = None
    return EuAnswer(status=status, body=body, retry_after=retry_after, headers=headers)


def submit_statements(endpoint: str, token: str, statements: list[dict[str, Any]]) -> EuAnswer:
    url = endpoint.rstrip("/") + "/statements"
    return _request("POST", url, token, json.dumps({"statements": statements}).encode())


def puid_exists(endpoint: str, token: str, puid: str) -> bool | None:
    """True (302) or False (404) per the EU's probe; None when it could not tell."""
    quoted = urllib.parse.quote(puid, safe="")
    answer = _request("GET", f"{endpoint.rstrip('/')}/statement/existing-puid/{quoted}", token)
    if answer.status == 302:
        return True
    if answer.status == 404:
        return False
    return None
