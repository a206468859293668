"""drf-spectacular glue: the API-key scheme and the msgspec-generated request schemas."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "moderation.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A platform API key, from `manage.py issue_api_key`.",
        }


def add_msgspec_components(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Postprocessing hook: add the components the msgspec request schemas refer to."""
    from moderation.api import SCHEMA_COMPONENTS

    result.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMA_COMPONENTS)
    return result
