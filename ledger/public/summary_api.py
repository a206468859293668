"""GET /api/v1/stats/summary (no authentication): the public statistics' totals and every table
of the /stats/ pages as JSON, filtered by platform, period, action, category, source and model,
read from the roll-ups (ledger.public.queries) as of the signed checkpoint they count."""

from __future__ import annotations

from typing import Any

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

from ledger.public import queries
from ledger.public.api import _ERROR_SCHEMA, CACHE_CONTROL, CellField
from moderation.vocabulary import Action, Category, Source


def _share(help_text: str) -> serializers.FloatField:
    """A rate or precision: from 0 to 1, or null."""
    return serializers.FloatField(allow_null=True, min_value=0, max_value=1, help_text=help_text)


class NullableCellField(CellField):
    """A count that is null where the roll-up it comes from cannot honour a filter."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)


@extend_schema_field(
    {
        "type": "object",
        "description": "The filters applied, as query parameters (only those given)",
        "properties": {
            "platform": {"type": "string"},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "action": {"type": "string", "enum": list(Action.values)},
            "category": {"type": "string", "enum": list(Category.values)},
            "source": {"type": "string", "enum": list(Source.values)},
            "model": {"type": "string"},
            "version": {"type": "string"},
        },
        "additionalProperties": False,
    }
)
class FiltersField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return value


# A table cell: a day (YYYY-MM-DD), a stored enum value or name, a count (an integer, or "<N"
# when suppressed), a rate or precision from 0 to 1, a yes/no, or null (no rate, or not counted).
_CELL_SCHEMA = {
    "oneOf": [
        {
            "type": "string",
            "description": 'A day (YYYY-MM-DD), a stored value or name, or a suppressed count "<N"',
        },
        {"type": "number", "description": "A count, or a rate or precision from 0 to 1"},
        {"type": "boolean"},
    ],
    "nullable": True,
}


@extend_schema_field(
    {
        "type": "array",
        "description": "The rows, each a list of cells in the order of `columns`",
        "items": {"type": "array", "items": _CELL_SCHEMA},
    }
)
class RowsField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return value


class CheckpointOut(serializers.Serializer):
    size = serializers.IntegerField(min_value=1, help_text="Entries in the log at this checkpoint")
    root_hash = serializers.CharField(help_text="The Merkle tree's root hash, base64")
    signed_at = serializers.DateTimeField()


class TotalsOut(serializers.Serializer):
    decisions = CellField(help_text="Decisions received")
    visibility_restrictions = CellField(
        help_text=(
            "Decisions whose most severe effect is a visibility restriction short of removal "
            "(action VISIBILITY_RESTRICTION): demotions, exclusions from search or "
            "recommendations, labels and the like, shadowbans among them"
        )
    )
    automated_detection = CellField(help_text="Decisions on content detected automatically")
    fully_automated = CellField(help_text="Decisions taken fully automatically")
    appeals_filed = CellField(help_text="Appeals filed in the period")
    appeals_decided = CellField(help_text="Appeals upheld, overturned or modified in the period")
    upheld = CellField()
    overturned = CellField()
    modified = CellField()
    overturn_rate = _share(
        "(overturned + modified) / decided; null unless both counts are shown",
    )
    median_hours_to_decide = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        help_text=(
            "Whole hours from filing to decision, the smallest h by which half the decided "
            "appeals were decided; null below LEDGER_MIN_CELL decided"
        ),
    )
    audit_reviewed = NullableCellField(
        help_text="Sampled decisions labelled in a blind audit; null under action or source"
    )
    audit_correct = NullableCellField(help_text="Of those, labelled correct; null with it")
    precision = _share("audit_correct / audit_reviewed; null below LEDGER_MIN_CELL reviewed")
    precision_low = _share("95% Wilson interval, low")
    precision_high = _share("95% Wilson interval, high")
    disputes_referred = NullableCellField(
        help_text=(
            "Out-of-court disputes referred (DSA Art. 21); null under action, category, "
            "source, model or version, which disputes are not counted by"
        )
    )


class TableOut(serializers.Serializer):
    title = serializers.CharField(
        help_text="What the table counts, and any filter it could not be split by"
    )
    columns = serializers.ListField(child=serializers.CharField(), help_text="Machine keys")
    labels = serializers.ListField(child=serializers.CharField(), help_text="Column headers")
    rows = RowsField()


TablesOut = type(
    "TablesOut",
    (serializers.Serializer,),
    {
        name: TableOut(help_text=f"{title}: /stats/{name}.csv is the same as CSV")
        for name, title in queries.TABLES.items()
    },
)


class SummaryOut(serializers.Serializer):
    filters = FiltersField()
    counted_upto = serializers.IntegerField(
        min_value=0, help_text="The log entries counted: the size of a signed checkpoint, or 0"
    )
    checkpoint = CheckpointOut(allow_null=True, help_text="The signed checkpoint counted up to")
    min_cell = serializers.IntegerField(min_value=1, help_text='Counts below this read "<min_cell"')
    totals = TotalsOut()
    tables = TablesOut()


def published(result: queries.Summary) -> dict[str, Any]:
    """The summary as the API sends it."""
    return {
        "filters": result.filters.query(),
        "counted_upto": result.counted_upto,
        "checkpoint": result.checkpoint,
        "min_cell": result.min_cell,
        "totals": result.totals,
        "tables": {
            name: {
                "title": t.title,
                "columns": t.columns,
                "labels": t.labels,
                "rows": t.rows,
            }
            for name, t in result.tables.items()
        },
    }


# An empty value is the same as leaving the parameter out (an HTML form sends its unset fields
# empty), and the schema says so: otherwise a fuzzer rightly reports the empty value accepted.
_NOT_SET = {"type": "string", "enum": [""]}


def _date(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, {"oneOf": [{"type": "string", "format": "date"}, _NOT_SET]}, description=description
    )


def _choice(name: str, values: list[str]) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, enum=["", *values], description="A stored value; empty: all"
    )


def _name(name: str, description: str) -> OpenApiParameter:
    longest = queries.LONGEST[name]
    return OpenApiParameter(
        name,
        {"type": "string", "pattern": "^[-a-zA-Z0-9_]*$", "maxLength": longest},
        description=f"{description}: letters, digits, '-' or '_', at most {longest}",
    )


_PARAMETERS = [
    _name("platform", "A platform's slug (an unknown one is refused, named)"),
    _date("from", "First day (UTC), inclusive, YYYY-MM-DD"),
    _date("to", "Last day (UTC), inclusive, YYYY-MM-DD"),
    _choice("action", list(Action.values)),
    _choice("category", list(Category.values)),
    _choice("source", list(Source.values)),
    _name("model", "A model's name"),
    OpenApiParameter(
        "version",
        {"type": "string", "pattern": "^[^\\u0000]*$", "maxLength": queries.LONGEST["version"]},
        description="A model version (of any model, or of `model`), without NUL",
    ),
]

_EXAMPLE = {
    "filters": {"platform": "vidshare", "from": "2026-11-01", "to": "2026-11-30"},
    "counted_upto": 18231,
    "checkpoint": {
        "size": 18231,
        "root_hash": "mZ3q0mXK8vJ2c6q0kR3j8pQ7b1yVw2tK9mX4ZcA1bEo=",
        "signed_at": "2026-12-01T00:00:04.118000+00:00",
    },
    "min_cell": 10,
    "totals": {
        "decisions": 15120,
        "visibility_restrictions": 9803,
        "automated_detection": 14002,
        "fully_automated": 12877,
        "appeals_filed": 1204,
        "appeals_decided": 1130,
        "upheld": 610,
        "overturned": 455,
        "modified": 65,
        "overturn_rate": 0.4602,
        "median_hours_to_decide": 19,
        "audit_reviewed": 400,
        "audit_correct": 311,
        "precision": 0.7775,
        "precision_low": 0.7344,
        "precision_high": 0.8153,
        "disputes_referred": "<10",
    },
    "tables": {
        name: {"title": t.title, "columns": t.columns, "labels": t.labels, "rows": t.rows}
        for name, t in ((name, queries.blank(name)) for name in queries.TABLES)
    }
    | {
        "decisions_by_action": {
            "title": queries.TABLES["decisions_by_action"],
            "columns": ["action", "decisions"],
            "labels": ["Action", "Decisions"],
            "rows": [["VISIBILITY_RESTRICTION", 9803], ["REMOVAL", 5310], ["FLAG", "<10"]],
        }
    },
}


class SummaryApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=_PARAMETERS,
        responses={
            200: SummaryOut,
            400: OpenApiResponse(_ERROR_SCHEMA, description="Bad parameters, each named"),
        },
        summary="Totals and breakdowns of decisions, appeals, models and disputes",
        description=(
            "The numbers of the /stats/ pages: totals, then one table per breakdown (the same "
            "tables as CSV at /stats/<name>.csv with the same parameters). Every number counts "
            "the log up to the signed checkpoint named in `checkpoint` (`counted_upto` "
            "entries). Days are UTC: a decision counts on the day it was received, an appeal "
            "event on the day it was filed or decided, an audit label or dispute step on its "
            "day. Counts below LEDGER_MIN_CELL (`min_cell`, 10 by default) read "
            '"<10", and a rate is null unless both its counts are shown. Precision is the '
            "share of blind audit samples labelled correct, with its 95% Wilson interval, "
            "null below `min_cell` reviewed.\n\n"
            "Audit labels are not counted by action or source, dispute steps by nothing but "
            "platform and day: under a filter they cannot be split by, their totals are null, "
            "the models table's audit columns null and the disputes table empty, and those "
            "tables' titles name the filter. Values are the stored ones (e.g. REMOVAL). Bad "
            "parameters are refused with 400, every one named; an empty value is the same as "
            "none."
        ),
        examples=[OpenApiExample("A month of one platform", value=_EXAMPLE, response_only=True)],
        tags=["statistics"],
    )
    def get(self, request: Request) -> Response:
        filters, errors = queries.parse_filters(request.query_params)
        if errors:
            response = Response({"detail": "Invalid parameters.", "errors": errors}, status=400)
        else:
            response = Response(published(queries.summary(filters)))
            response["Cache-Control"] = CACHE_CONTROL
        response["Access-Control-Allow-Origin"] = "*"
        return response
