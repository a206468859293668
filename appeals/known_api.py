"""Planting known-answer audit items over the API, under /api/v1/audit/known-answers: HTTP only.

A platform, with its API key, names one of its decisions and the label a careful reviewer would
give it; the item then waits in a queue looking exactly like a blind audit sample, and each
reviewer's labels on such items measure their accuracy. One call to
`appeals.labels.plant_known_answer`; a bad request gets a 400 naming every problem, the body's
and the decision's together, and writes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals import labels
from appeals.models import Label, ReviewItem, ReviewQueue
from appeals.review_api import StrictChoiceField
from moderation.api import StrictCharField, StrictSerializer
from moderation.auth import client_api_key, client_platform
from moderation.models import Decision

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "errors": {"type": "object"}},
}
_NO_DECISION = "No such decision of your platform."


class DecisionIdField(serializers.UUIDField):
    """A decision's id as the ledger gave it: a UUID, as text (DRF's field also takes an
    integer, which no client means as an id)."""

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        parsed: uuid.UUID = super().to_internal_value(data)
        return parsed


class KnownAnswerIn(StrictSerializer):
    decision = DecisionIdField(help_text="The id of one of your decisions.")
    answer = StrictChoiceField(
        choices=Label.choices, help_text="The right label: was the decision correct?"
    )
    queue = StrictCharField(
        required=False,
        max_length=64,
        trim_whitespace=False,
        help_text="The slug of one of your queues; the audit queue when omitted.",
    )


class KnownAnswerOut(serializers.Serializer[ReviewItem]):
    id = serializers.IntegerField(help_text="The planted item's id (reviewers see the same ids).")
    queue = serializers.CharField(source="queue.slug")
    answer = serializers.ChoiceField(choices=Label.choices, source="known_answer")
    created_at = serializers.DateTimeField()


class KnownAnswerApi(APIView):
    @extend_schema(
        request=KnownAnswerIn,
        responses={
            201: KnownAnswerOut,
            400: OpenApiResponse(_ERROR_SCHEMA, description="Invalid; nothing was written"),
            401: OpenApiResponse(_ERROR_SCHEMA, description="No or an invalid API key"),
        },
        examples=[
            OpenApiExample(
                "A chess video wrongly flagged as hate speech",
                value={
                    "decision": "0b9f6c2e-3c1a-4f7e-9d2b-5a8e1f0c7d41",
                    "answer": "incorrect",
                    "queue": "audit",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Planted",
                value={
                    "id": 4711,
                    "queue": "audit",
                    "answer": "incorrect",
                    "created_at": "2026-12-06T07:30:00Z",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
        summary="Plant a known-answer audit item on one of your decisions",
        description=(
            "Reviewers see it exactly as a blind audit sample, and it never appears in the "
            "transparency log (nor do its labels), so that nobody can tell tests from samples. "
            "Reversals and expiries cannot be planted: they lift an earlier decision."
        ),
    )
    def post(self, request: Request) -> Response:
        platform = client_platform(request)
        body = KnownAnswerIn(data=request.data)
        errors: dict[str, Any] = {}
        if not body.is_valid():
            errors.update(body.errors)
        value = body.validated_data if not errors else _parsed(body, request.data)

        decision = None
        if "decision" in value:
            decision = Decision.objects.filter(
                platform=platform, public_id=value["decision"]
            ).first()
            if decision is None:
                errors["decision"] = [_NO_DECISION]
        queue = None
        if "queue" in value:
            queue = ReviewQueue.objects.filter(platform=platform, slug=value["queue"]).first()
            if queue is None:
                errors["queue"] = [f"None of your queues is {value['queue']!r}."]
        if decision is not None:
            # The decision's own problems, named with the body's (fields not refused already).
            found = labels.plant_errors(
                decision=decision,
                answer=value.get("answer"),
                queue=queue,
                actor=client_api_key(request),
            )
            for field, problems in found.items():
                errors.setdefault(field, problems)
        if errors:
            return _invalid(errors)
        assert decision is not None
        try:
            item = labels.plant_known_answer(
                decision=decision,
                answer=value["answer"],
                queue=queue,
                actor=client_api_key(request),
            )
        except labels.PlantRefused as exc:
            return _invalid(exc.errors)
        return Response(KnownAnswerOut(item).data, status=status.HTTP_201_CREATED)


def _parsed(body: KnownAnswerIn, data: Any) -> dict[str, Any]:
    """The fields of a refused body that are valid on their own, so that their own problems
    (an unknown decision, say) are named with the body's."""
    if not isinstance(data, dict):
        return {}
    value: dict[str, Any] = {}
    for name, field in body.fields.items():
        if name in body.errors or name not in data:
            continue
        try:
            value[name] = field.run_validation(data[name])
        except ValidationError:
            continue
    return value


def _invalid(errors: dict[str, Any]) -> Response:
    return Response(
        {"detail": "Invalid input; nothing was written.", "errors": errors},
        status=status.HTTP_400_BAD_REQUEST,
    )
