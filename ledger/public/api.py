"""The public statistics API (no authentication): per model version, decisions, appeals, how
often appeals overturn them, and how often blind audit samples find its decisions correct,
read from the roll-ups (ledger.public.stats)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.public import stats
from moderation.schemas import SLUG_PATTERN

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# Offsets are PostgreSQL bigints (and SQLite's 64-bit integers) in the page query.
MAX_OFFSET = 2**63 - 1
# Model names are slugs of up to 100 characters, platform slugs up to 64 (moderation.models):
# anything else cannot match, and a NUL would make PostgreSQL refuse the query.
TEXT_PARAMETERS = {"model": 100, "platform": 64}
INT_PARAMETERS = {"limit": (1, MAX_LIMIT), "offset": (0, MAX_OFFSET)}
PARAMETERS = (*TEXT_PARAMETERS, *INT_PARAMETERS)
# Stats change with every outcome: a shared cache may keep an answer for seconds, no longer.
CACHE_CONTROL = "public, max-age=5"

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail", "errors"],
}


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {
                "type": "string",
                "pattern": "^<[0-9]+$",
                "description": "A count below LEDGER_MIN_CELL, suppressed",
            },
        ]
    }
)
class CellField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return value


class AuditStatsOut(serializers.Serializer):
    reviewed = CellField(
        help_text=(
            "The version's decisions sampled for a blind audit and labelled (an item labelled "
            "twice counts once, by its first label; planted test items never count)"
        )
    )
    correct = CellField(help_text="Of those, labelled correct")
    precision = serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="correct / reviewed; null when fewer than LEDGER_MIN_CELL were reviewed",
    )
    low = serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="Lower bound of the precision's 95% Wilson score interval; null with it",
    )
    high = serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="Upper bound of the precision's 95% Wilson score interval; null with it",
    )


class ModelVersionStatsOut(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.CharField()
    platform = serializers.CharField()
    decisions = CellField(help_text="Decisions that name this version (not reversals, expiries)")
    appeals = CellField(help_text="Appeals filed against those decisions")
    appeals_decided = CellField(help_text="Appeals upheld, overturned or modified")
    overturned = CellField(help_text="Appeals overturned or modified")
    overturn_rate = serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="overturned / appeals_decided; null when appeals_decided is suppressed or 0",
    )
    audit = AuditStatsOut(help_text="Precision measured on blind audit samples")


class ModelStatsPageOut(serializers.Serializer):
    results = ModelVersionStatsOut(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null")


def _parameters(request: Request) -> tuple[dict[str, Any], dict[str, list[str]]]:
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in request.query_params:
        if name not in PARAMETERS:
            errors[name[:100]] = [f"Unknown parameter; use {', '.join(PARAMETERS)}."]
    for name in PARAMETERS:
        given = request.query_params.getlist(name)
        if not given:
            continue
        if len(given) > 1:
            errors[name] = ["Give it at most once."]
            continue
        raw = given[0]
        if name in TEXT_PARAMETERS:
            longest = TEXT_PARAMETERS[name]
            if not re.match(SLUG_PATTERN, raw) or len(raw) > longest:
                errors[name] = [
                    f"Must be a name of letters, digits, '-' or '_', at most {longest} long."
                ]
            else:
                values[name] = raw
            continue
        low, high = INT_PARAMETERS[name]
        # ASCII digits only: str.isdigit() also accepts "²" and other scripts' digits.
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not low <= int(raw) <= high:
            errors[name] = [f"Must be an integer from {low} to {high}."]
        else:
            values[name] = int(raw)
    return values, errors


class ModelStatsApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("model", OpenApiTypes.STR, description="Only this model's versions"),
            OpenApiParameter("platform", OpenApiTypes.STR, description="Only this platform's"),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"Rows per page, 1 to {MAX_LIMIT}"
            ),
            OpenApiParameter("offset", OpenApiTypes.INT, description="Rows to skip"),
        ],
        responses={
            200: ModelStatsPageOut,
            400: OpenApiResponse(_ERROR_SCHEMA, description="Bad parameters, each named"),
        },
        summary="Appeals, overturns and audited precision per model version",
        description=(
            "One row per model version, ordered by platform, model and version. Counts below "
            'the ledger\'s minimum cell size (LEDGER_MIN_CELL, 10 by default) read "<10", and '
            "the rate is null when the decided appeals are suppressed or none. `audit` is the "
            "version's precision on blind audit samples (correct over reviewed) with its 95% "
            "Wilson score interval, null below LEDGER_MIN_CELL reviewed samples. Counted from the "
            "log up to its latest signed checkpoint: an outcome or a label shows within seconds "
            "of the next checkpoint (LEDGER_ROLLUP_EVERY_SECONDS)."
        ),
        examples=[
            OpenApiExample(
                "The chess-confused classifier",
                value={
                    "results": [
                        {
                            "model": "hate-speech",
                            "version": "v1",
                            "platform": "vidshare",
                            "decisions": 1843,
                            "appeals": 212,
                            "appeals_decided": 180,
                            "overturned": 151,
                            "overturn_rate": 0.8389,
                            "audit": {
                                "reviewed": 40,
                                "correct": "<10",
                                "precision": 0.2,
                                "low": 0.105,
                                "high": 0.3476,
                            },
                        }
                    ],
                    "next": None,
                },
                response_only=True,
            )
        ],
        tags=["statistics"],
    )
    def get(self, request: Request) -> Response:
        values, errors = _parameters(request)
        if errors:
            return Response({"detail": "Invalid parameters.", "errors": errors}, status=400)
        limit = values.get("limit", DEFAULT_LIMIT)
        offset = values.get("offset", 0)
        rows, more = stats.model_version_counts(
            model=values.get("model"),
            platform=values.get("platform"),
            offset=offset,
            limit=limit,
        )
        following = None
        if more:
            query = {k: values[k] for k in TEXT_PARAMETERS if k in values}
            query |= {"limit": limit, "offset": offset + limit}
            following = request.build_absolute_uri(f"{reverse('stats-models')}?{urlencode(query)}")
        min_cell = settings.LEDGER_MIN_CELL
        response = Response(
            {
                "results": [stats.published(row, min_cell=min_cell) for row in rows],
                "next": following,
            }
        )
        response["Cache-Control"] = CACHE_CONTROL
        response["Access-Control-Allow-Origin"] = "*"
        return response
