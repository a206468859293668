"""drf-spectacular glue: the API-key scheme, the msgspec-generated request schemas and the
EU-compatible API's schemas."""

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
    """Postprocessing hook: add the components the msgspec request schemas refer to, and those
    of the EU-compatible endpoints (moderation.dsa_schema), sized by the current settings."""
    from django.conf import settings

    from moderation import dsa_schema
    from moderation.api import SCHEMA_COMPONENTS

    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(SCHEMA_COMPONENTS)
    schemas.update(dsa_schema.components(settings.LEDGER_DSA_MAX_BATCH))
    # These endpoints answer a request without a body with a 400: say the body is required.
    for path in (
        "/api/v1/statement",
        "/api/v1/statements",
        "/api/v1/decisions",
        "/api/v1/decisions/batch",
    ):
        body = result.get("paths", {}).get(path, {}).get("post", {}).get("requestBody")
        if body is not None:
            body["required"] = True
    return result
