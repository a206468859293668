"""Reviewer API tokens over `Authorization: Bearer <token>`.

Only the reviewer endpoints (appeals.review_api) use this class, and only this class: a
platform's API key is refused here, and a reviewer token is refused by the platform endpoints
(moderation.auth), because each checks its own token's first part ("mlr" here, "mlk" there).
"""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from appeals.models import Reviewer
from appeals.services import REVIEWER_TOKEN_PREFIX, hash_reviewer_token

if TYPE_CHECKING:
    from rest_framework.views import APIView

# What `create_reviewer` issues (secrets.token_hex(6)); anything else cannot name a token, and
# is not sent to the database (PostgreSQL refuses a NUL in a query).
_PREFIX = re.compile(r"[0-9a-f]{12}")


class ReviewerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Reviewer] | None:
        header = get_authorization_header(request)
        if not header:
            return None
        try:
            scheme, _, token = header.decode("ascii").partition(" ")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("The Authorization header must be ASCII.") from exc
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed(
                "Send the reviewer token as 'Authorization: Bearer <token>'."
            )
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != REVIEWER_TOKEN_PREFIX or not _PREFIX.fullmatch(parts[1]):
            raise AuthenticationFailed(
                "Invalid reviewer token (a platform API key does not work here)."
            )
        reviewer = Reviewer.objects.select_related("user").filter(token_prefix=parts[1]).first()
        # Constant-time: the hash comparison must not tell how much of a guess was right.
        if reviewer is None or not hmac.compare_digest(
            reviewer.token_hash, hash_reviewer_token(token)
        ):
            raise AuthenticationFailed("Invalid or revoked reviewer token.")
        if not reviewer.user.is_active:
            raise AuthenticationFailed("This reviewer's account is disabled.")
        return reviewer.user, reviewer

    def authenticate_header(self, request: Request) -> str:
        # Also what makes DRF answer 401 (not 403) when the header is missing.
        return 'Bearer realm="review"'


class ReviewerTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema names this scheme (registered by being defined)."""

    target_class = ReviewerTokenAuthentication
    name = "ReviewerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A reviewer's token, from `manage.py create_reviewer`.",
        }


class IsReviewer(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, Reviewer)


def request_reviewer(request: Request) -> Reviewer:
    """The reviewer whose token made this request; every lookup is scoped to them."""
    reviewer = request.auth
    assert isinstance(reviewer, Reviewer)
    return reviewer
