"""A small client for the EU DSA Transparency Database's submission API (standard library only).

It returns what happened instead of raising, so the forwarder can tell a refusal it must not
retry from a failure it must retry, and a failure whose outcome is unknown (the request may have
arrived) from one where nothing was sent.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_SECONDS = 30.0
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class EuAnswer:
    status: int  # 0 when no HTTP answer came back
    body: Any = None
    retry_after: float | None = None
    error: str = ""
    # The request may have reached the EU although no answer came back.
    outcome_unknown: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # Nothing was sent: the endpoint's host is not a public address (see endpoint_problem).
    endpoint_refused: bool = False


class PrivateAddressRefused(OSError):
    """The connection reached an address that is not public; nothing was sent on it."""


# --- where the token may go ---------------------------------------------------------------
#
# The request carries the platform's EU token, so it must not reach the ledger's own network
# (loopback, private, link-local, carrier-grade NAT, cloud metadata at 169.254.169.254, ...):
# an endpoint is refused unless it is https and its host resolves only to globally routable
# addresses. Checked when the endpoint is given and again before every send (DNS can change in
# between), and the address actually connected to is checked once more, so a name that
# resolves to a public address for the check and a private one for the connection is caught.


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (a seam for tests: they must not use outside DNS)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address, looking through the IPv6 forms that embed
    an IPv4 one (mapped, NAT64, 6to4, Teredo), which `is_global` alone takes as public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    embedded: list[ipaddress.IPv4Address] = []
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(a.is_global and not a.is_multicast for a in (ip, *embedded))


@dataclass(frozen=True)
class EndpointProblem:
    message: str
    # The host did not resolve: maybe a passing DNS failure, not a refusal of the endpoint.
    unresolved: bool = False

    def __str__(self) -> str:
        return self.message


def endpoint_problem(endpoint: str, *, allow_private: bool = False) -> EndpointProblem | None:
    """Why the token must not be sent to `endpoint` (completing "The endpoint ..."), or None."""
    try:
        parts = urllib.parse.urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return EndpointProblem("is not a valid URL")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return EndpointProblem("must be an http or https URL with a host")
    if allow_private:
        return None
    if parts.scheme != "https":
        return EndpointProblem("must be an https URL")
    try:
        addresses = resolve(parts.hostname, port or 443)
    except (OSError, ValueError):  # UnicodeError (IDNA) and embedded NULs are ValueErrors
        return EndpointProblem(f"has a host that does not resolve ({parts.hostname!r})", True)
    refused = sorted({a for a in addresses if not is_public_address(a)})
    if refused or not addresses:
        return EndpointProblem(
            f"must point at a public address, but {parts.hostname} resolves to "
            f"{', '.join(refused) or 'nothing'} (loopback, private, link-local or reserved)"
        )
    return None


def _connect_to_public_address(
    address: tuple[str, int], timeout: float | None = None, source_address: Any = None
) -> socket.socket:
    sock = socket.create_connection(address, timeout, source_address)
    peer = str(sock.getpeername()[0])
    if not is_public_address(peer):
        sock.close()
        raise PrivateAddressRefused(f"connected to {peer}, which is not a public address")
    return sock


class _PublicOnlyHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The address is checked once connected, before the TLS handshake and the request
        # (and so the token) are written.
        self._create_connection = _connect_to_public_address


class _PublicOnlyHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicOnlyHTTPSConnection, req, context=ssl.create_default_context())


class _NoPlainHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        raise urllib.error.URLError(PrivateAddressRefused("plain http is refused"))


def _request(
    method: str,
    url: str,
    token: str,
    body: bytes | None = None,
    timeout: float = TIMEOUT_SECONDS,
    *,
    allow_private: bool = False,
) -> EuAnswer:
    problem = endpoint_problem(url, allow_private=allow_private)
    if problem is not None:
        return EuAnswer(status=0, error=f"endpoint refused: it {problem}", endpoint_refused=True)
    request = urllib.request.Request(  # noqa: S310 (the scheme and address are checked above)
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
    handlers: list[Any] = [_NoRedirect]
    if not allow_private:
        handlers += [_PublicOnlyHTTPSHandler, _NoPlainHTTPHandler]
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            return _answer(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return _answer(exc.code, exc.read(), dict(exc.headers or {}))
    except TimeoutError as exc:
        return EuAnswer(status=0, error=f"timed out: {exc}", outcome_unknown=True)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, PrivateAddressRefused):
            return EuAnswer(
                status=0, error=f"endpoint refused: {exc.reason}", endpoint_refused=True
            )
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


def submit_statements(
    endpoint: str, token: str, statements: list[dict[str, Any]], *, allow_private: bool = False
) -> EuAnswer:
    url = endpoint.rstrip("/") + "/statements"
    body = json.dumps({"statements": statements}).encode()
    return _request("POST", url, token, body, allow_private=allow_private)


def puid_exists(
    endpoint: str, token: str, puid: str, *, allow_private: bool = False
) -> bool | None:
    """True (302) or False (404) per the EU's probe; None when it could not tell."""
    quoted = urllib.parse.quote(puid, safe="")
    url = f"{endpoint.rstrip('/')}/statement/existing-puid/{quoted}"
    answer = _request("GET", url, token, allow_private=allow_private)
    if answer.status == 302:
        return True
    if answer.status == 404:
        return False
    return None
