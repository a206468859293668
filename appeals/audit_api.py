"""The audit plan API, under /api/v1/audit/plan: HTTP only.

PUT sets the platform's plan (its API key); GET reads any platform's current plan, public and
without a key, since auditors rerun the sampling from it (appeals.audit.RULE).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.audit import MAX_STRATA, RULE, AuditRejected, apply_audit_plan, check_plan
from appeals.models import AuditPlan
from moderation.auth import client_api_key, client_platform
from moderation.models import Platform
from moderation.schemas import SLUG_PATTERN
from moderation.vocabulary import Category

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

# How many earlier plans a GET lists; every plan is also an `audit_plan` log entry.
MAX_HISTORY = 100
_SLUG = re.compile(SLUG_PATTERN)

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail"],
}
_RATE = {"type": "number", "minimum": 0, "maximum": 1}
_STRATUM = {
    "oneOf": [
        {
            "type": "object",
            "description": "A model version (the most specific stratum)",
            "properties": {
                "model": {"type": "string", "minLength": 1, "maxLength": 100},
                "version": {"type": "string", "minLength": 1, "maxLength": 64},
                "rate": _RATE,
            },
            "required": ["model", "version", "rate"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "description": "A policy category (decisions of no listed model version)",
            "properties": {"category": {"type": "string", "enum": Category.values}, "rate": _RATE},
            "required": ["category", "rate"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "description": "The default (decisions no other stratum matches)",
            "properties": {"rate": _RATE},
            "required": ["rate"],
            "additionalProperties": False,
        },
    ]
}
_PLAN_IN_SCHEMA = {
    "type": "object",
    "properties": {
        "strata": {
            "type": "array",
            "items": _STRATUM,
            "maxItems": MAX_STRATA,
            "description": "Sampling rates; one per model version, one per category, at most "
            "one default. An empty list samples nothing from now on.",
        },
        "double_review": {
            **_RATE,
            "default": 0,
            "description": "The share of sampled decisions labelled by two reviewers.",
        },
    },
    "required": ["strata"],
    "additionalProperties": False,
}
_EXAMPLE_STRATA = [
    {"model": "hate-speech", "version": "v1", "rate": 0.05},
    {"category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "rate": 0.01},
    {"rate": 0.001},
]


@extend_schema_field({"type": "array", "items": _STRATUM})
class StrataField(serializers.JSONField):
    pass


class PlanHistoryOut(serializers.Serializer[Any]):
    log_index = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    leaf_hash = serializers.CharField()


class AuditPlanOut(serializers.Serializer[Any]):
    platform = serializers.CharField()
    strata = StrataField()
    double_review = serializers.FloatField()
    salt = serializers.CharField(help_text="32 random bytes, hex: the HMAC key of the draws.")
    created_at = serializers.DateTimeField()
    log_index = serializers.IntegerField(help_text="The plan's audit_plan log entry.")
    leaf_hash = serializers.CharField()
    rule = serializers.CharField(help_text="Which decisions the plan samples, exactly.")
    history = PlanHistoryOut(
        many=True,
        required=False,
        help_text=f"GET only: the platform's earlier plans, newest first (at most {MAX_HISTORY}).",
    )


def _plan_json(plan: AuditPlan, platform: Platform) -> dict[str, Any]:
    return {
        "platform": platform.slug,
        "strata": plan.strata,
        "double_review": plan.double_review,
        "salt": plan.salt,
        "created_at": plan.created_at,
        "log_index": plan.log_entry_id,
        "leaf_hash": bytes(plan.log_entry.leaf_hash).hex(),
        "rule": RULE,
    }


def _refused(code: int, detail: str, errors: dict[str, Any]) -> Response:
    return Response({"detail": detail, "errors": errors}, status=code)


_EXAMPLE_OUT = {
    "platform": "vidshare",
    "strata": _EXAMPLE_STRATA,
    "double_review": 0.1,
    "salt": "9f1c" * 16,
    "created_at": "2026-12-06T08:00:00Z",
    "log_index": 4711,
    "leaf_hash": "3b" * 32,
    "rule": RULE,
}


class AuditPlanApi(APIView):
    """The platform's key sets its plan; reading a plan needs no key."""

    def _reads(self) -> bool:
        request = getattr(self, "request", None)
        return request is not None and request.method in SAFE_METHODS

    def perform_authentication(self, request: Request) -> None:
        # A read ignores any Authorization header: it answers the same to everyone. (DRF
        # authenticates lazily, on the first use of request.user, which a read never makes.)
        if request.method not in SAFE_METHODS:
            super().perform_authentication(request)

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        return [AllowAny()] if self._reads() else super().get_permissions()

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "platform", OpenApiTypes.STR, required=True, description="The platform's slug"
            )
        ],
        responses={
            200: OpenApiResponse(
                AuditPlanOut,
                description="The current plan and the earlier ones",
                examples=[
                    OpenApiExample(
                        "A plan",
                        value={
                            **_EXAMPLE_OUT,
                            "history": [
                                {
                                    "log_index": 1200,
                                    "created_at": "2026-11-02T09:30:00Z",
                                    "leaf_hash": "7a" * 32,
                                }
                            ],
                        },
                    )
                ],
            ),
            400: OpenApiResponse(_ERROR_SCHEMA, description="No or a malformed platform slug"),
            404: OpenApiResponse(_ERROR_SCHEMA, description="No such platform, or no plan yet"),
        },
        auth=[],
        summary="A platform's audit plan (public)",
        tags=["audits"],
    )
    def get(self, request: Request) -> Response:
        slug = request.query_params.get("platform", "")
        if not slug:
            return _refused(
                400, "Name the platform: ?platform=<slug>.", {"platform": ["Required."]}
            )
        # Checked before the query: a NUL would make PostgreSQL refuse it.
        if len(slug) > 64 or not _SLUG.fullmatch(slug):
            return _refused(
                400,
                "Invalid parameters.",
                {"platform": ["A platform slug: up to 64 letters, digits, '-' or '_'."]},
            )
        platform = Platform.objects.filter(slug=slug).first()
        if platform is None:
            return _refused(404, "No platform has this slug.", {})
        plans = list(
            AuditPlan.objects.filter(platform=platform)
            .select_related("log_entry")
            .order_by("-log_entry_id")[: MAX_HISTORY + 1]
        )
        if not plans:
            return _refused(404, "This platform has no audit plan: it samples nothing.", {})
        body = _plan_json(plans[0], platform)
        body["history"] = [
            {
                "log_index": plan.log_entry_id,
                "created_at": plan.created_at,
                "leaf_hash": bytes(plan.log_entry.leaf_hash).hex(),
            }
            for plan in plans[1:]
        ]
        return Response(AuditPlanOut(body).data)

    @extend_schema(
        request={"application/json": _PLAN_IN_SCHEMA},
        examples=[
            OpenApiExample(
                "Sample a classifier version more than the rest",
                value={"strata": _EXAMPLE_STRATA, "double_review": 0.1},
                request_only=True,
            )
        ],
        responses={
            201: OpenApiResponse(
                AuditPlanOut,
                description="Set: decisions recorded from now on are sampled under it",
                examples=[OpenApiExample("The new plan", value=_EXAMPLE_OUT)],
            ),
            200: OpenApiResponse(
                AuditPlanOut, description="Already the current plan: unchanged, same salt"
            ),
            400: OpenApiResponse(
                _ERROR_SCHEMA,
                description='Invalid; every problem named (e.g. "strata[2].rate"); nothing '
                "was written",
            ),
            401: OpenApiResponse(_ERROR_SCHEMA, description="No or an invalid platform key"),
        },
        summary="Set the platform's audit plan",
        tags=["audits"],
    )
    def put(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            return _refused(
                400,
                "Invalid audit plan; nothing was written.",
                {"body": ['Must be a JSON object: {"strata": [...], "double_review": 0.1}.']},
            )
        errors: dict[str, list[str]] = {
            str(key)[:50]: ["Unknown field."]
            for key in sorted(set(body) - {"strata", "double_review"}, key=str)
        }
        if "strata" not in body:
            errors["strata"] = ["Required."]
        platform = client_platform(request)
        strata, share = body.get("strata", []), body.get("double_review", 0.0)
        try:
            if errors:
                # Still named together with the field problems, and nothing is written.
                check_plan(platform=platform, strata=strata, double_review=share)
            else:
                plan, created = apply_audit_plan(
                    platform=platform,
                    strata=strata,
                    double_review=share,
                    actor=client_api_key(request),
                )
        except AuditRejected as exc:
            errors = {**exc.errors, **errors}
        if errors:
            return _refused(400, "Invalid audit plan; nothing was written.", errors)
        return Response(
            AuditPlanOut(_plan_json(plan, platform)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
