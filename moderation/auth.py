"""Platform API keys over `Authorization: Bearer <key>`."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from moderation.models import ApiKey, Platform
from moderation.services import API_KEY_PREFIX, hash_api_key

if TYPE_CHECKING:
    from rest_framework.views import APIView


@dataclass(frozen=True)
class PlatformClient:
    """What `request.user` is for a request made with a platform's API key."""

    platform: Platform
    api_key: ApiKey
    is_authenticated: bool = True


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[PlatformClient, ApiKey] | None:
        header = get_authorization_header(request)
        if not header:
            return None
        try:
            scheme, _, token = header.decode("ascii").partition(" ")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("The Authorization header must be ASCII.") from exc
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed("Send the API key as 'Authorization: Bearer <key>'.")
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
            raise AuthenticationFailed("Invalid API key.")
        api_key = ApiKey.objects.select_related("platform").filter(prefix=parts[1]).first()
        if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_api_key(token)):
            raise AuthenticationFailed("Invalid API key.")
        if api_key.revoked_at is not None:
            raise AuthenticationFailed(
                f"This API key was revoked at {api_key.revoked_at.isoformat()}."
            )
        return PlatformClient(platform=api_key.platform, api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class IsPlatformClient(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, PlatformClient)


def client_platform(request: Request) -> Platform:
    """The platform whose key made this request; every API lookup is scoped to it."""
    user = request.user
    assert isinstance(user, PlatformClient)
    return user.platform


def client_api_key(request: Request) -> ApiKey:
    """The API key that made this request: what recorded a decision, and the audit actor."""
    user = request.user
    assert isinstance(user, PlatformClient)
    return user.api_key
