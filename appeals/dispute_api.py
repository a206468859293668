"""The platforms' out-of-court disputes API (DSA Article 21), under /api/v1/disputes: HTTP only.

A platform, with its API key, records that a case about one of its decisions went to a
certified dispute settlement body, then the body's outcome, then whether and when it
implemented that outcome; each is one call to `appeals.disputes`, and every read is scoped to
the key's platform (another platform's dispute answers 404, as one that does not exist).
Bad input gets a 400 naming every problem, the input's types and the rules between the fields
and the dispute's own dates together; a step out of order or a second ruling gets a 409.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals import disputes
from appeals.models import Appellant, Dispute, DisputeOutcome
from moderation.api import NewestFirst, StrictBooleanField, StrictCharField, StrictSerializer
from moderation.auth import client_api_key, client_platform
from moderation.models import Decision

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object"},
    },
}
_UUID = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")
# Python reads years 1 to 9999; the database and the UTC conversion need a margin at both ends.
_EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


# --- input --------------------------------------------------------------------------------


class StrictUUIDField(serializers.UUIDField):
    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        parsed: uuid.UUID = super().to_internal_value(data)
        return parsed


class StrictChoiceField(serializers.ChoiceField):
    """A choice given as a string (DRF compares str(value), so 1 would match "1")."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or data not in self.choice_strings_to_values:
            raise ValidationError(f"Must be one of {', '.join(self.choice_strings_to_values)}.")
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with its zone (Z or an offset), returned in UTC. A naive time would be
    read in the server's zone and published shifted, so it is refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=dt.UTC, **kwargs)

    def to_internal_value(self, value: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise ValidationError("Must be an ISO 8601 date and time, such as 2026-11-25T10:00Z.")
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError(
                "Must be an ISO 8601 date and time, such as 2026-11-25T10:00Z."
            ) from exc
        if parsed.tzinfo is None:
            raise ValidationError("Give a time zone (Z or an offset such as +01:00).")
        try:
            utc = parsed.astimezone(dt.UTC)
        except OverflowError as exc:
            raise ValidationError("Out of range.") from exc
        if utc < _EARLIEST:
            raise ValidationError(f"Must not be before {_EARLIEST.date()}.")
        return utc


class ReferralIn(StrictSerializer):
    decision = StrictUUIDField(help_text="The id of one of your decisions (its `id`).")
    complainant = StrictChoiceField(
        choices=Appellant.choices,
        help_text="Who took the case to the body: `subject` (the person the decision is "
        "about) or `notifier` (who reported the content; only for a decision taken on a "
        "notice).",
    )
    body = StrictCharField(
        max_length=disputes.MAX_BODY_LENGTH,
        allow_blank=True,
        trim_whitespace=False,
        help_text="The certified out-of-court dispute settlement body's name. Public: it is in "
        "the log and on the creator's notice page.",
    )
    referred_at = AwareDateTimeField(
        help_text="When the case was referred to the body; not before the decision, not in "
        "the future."
    )


class RulingIn(StrictSerializer):
    outcome = StrictChoiceField(choices=DisputeOutcome.choices)
    decided_at = AwareDateTimeField(
        help_text="When the body decided; not before the referral, not in the future."
    )


class ImplementationIn(StrictSerializer):
    implemented = StrictBooleanField(
        help_text="Whether the platform implemented the body's outcome."
    )
    implemented_at = AwareDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When it was implemented (not before the ruling, not in the future); null "
        "exactly when `implemented` is false.",
    )


def _parse(
    serializer_class: type[StrictSerializer], data: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that parsed (the others SKIP) and the serializer's errors."""
    form = serializer_class(data=data)
    if form.is_valid():
        return dict(form.validated_data), {}
    errors: dict[str, Any] = dict(form.errors)
    parsed: dict[str, Any] = {}
    if isinstance(data, Mapping):
        for name, field in form.fields.items():
            if name in errors:
                parsed[name] = disputes.SKIP
                continue
            if name not in data:
                parsed[name] = disputes.SKIP if field.required else field.get_default()
                continue
            try:
                parsed[name] = field.run_validation(data[name])
            except ValidationError:
                parsed[name] = disputes.SKIP
    else:
        parsed = dict.fromkeys(form.fields, disputes.SKIP)
    return parsed, errors


def _merge(errors: dict[str, Any], more: Mapping[str, list[str]]) -> dict[str, Any]:
    for name, problems in more.items():
        existing = errors.setdefault(name, [])
        if isinstance(existing, list):
            existing.extend(problems)
    return errors


# --- output -------------------------------------------------------------------------------


class RulingOut(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=DisputeOutcome.choices)
    decided_at = serializers.DateTimeField()
    log_index = serializers.IntegerField(source="log_entry_id")
    leaf_hash = serializers.SerializerMethodField()

    def get_leaf_hash(self, obj: Any) -> str:
        return bytes(obj.log_entry.leaf_hash).hex()


class ImplementationOut(serializers.Serializer[Any]):
    implemented = serializers.BooleanField()
    implemented_at = serializers.DateTimeField(allow_null=True)
    log_index = serializers.IntegerField(source="log_entry_id")
    leaf_hash = serializers.SerializerMethodField()

    def get_leaf_hash(self, obj: Any) -> str:
        return bytes(obj.log_entry.leaf_hash).hex()


STATUSES = [
    ("referred", "Waiting for the body's ruling"),
    ("decided", "Ruled; whether it was implemented is not yet recorded"),
    ("implemented", "The platform implemented the outcome"),
    ("not_implemented", "The platform did not implement the outcome"),
    ("withdrawn", "Withdrawn: nothing to implement"),
]


def _step(obj: Dispute, name: str) -> Any:
    # A reverse one-to-one that is not there raises (an AttributeError): None instead.
    return getattr(obj, name, None)


def dispute_status(obj: Dispute) -> str:
    ruling = _step(obj, "ruling")
    if ruling is None:
        return "referred"
    if ruling.outcome == DisputeOutcome.WITHDRAWN:
        return "withdrawn"
    implementation = _step(obj, "implementation")
    if implementation is None:
        return "decided"
    return "implemented" if implementation.implemented else "not_implemented"


class DisputeOut(serializers.Serializer[Dispute]):
    id = serializers.UUIDField(source="public_id")
    decision = serializers.UUIDField(source="decision.public_id")
    platform = serializers.CharField(source="platform.slug")
    complainant = serializers.ChoiceField(choices=Appellant.choices)
    body = serializers.CharField()
    referred_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField(help_text="When the referral was recorded here.")
    log_index = serializers.IntegerField(source="log_entry_id")
    leaf_hash = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    ruling = serializers.SerializerMethodField()
    implementation = serializers.SerializerMethodField()

    def get_leaf_hash(self, obj: Dispute) -> str:
        return bytes(obj.log_entry.leaf_hash).hex()

    @extend_schema_field(
        {"type": "string", "enum": [value for value, _ in STATUSES]},
    )
    def get_status(self, obj: Dispute) -> str:
        """Where the dispute stands: referred, decided, implemented, not_implemented or
        withdrawn."""
        return dispute_status(obj)

    @extend_schema_field(RulingOut(allow_null=True))
    def get_ruling(self, obj: Dispute) -> dict[str, Any] | None:
        """The body's outcome, once recorded; else null."""
        ruling = _step(obj, "ruling")
        return None if ruling is None else RulingOut(ruling).data

    @extend_schema_field(ImplementationOut(allow_null=True))
    def get_implementation(self, obj: Dispute) -> dict[str, Any] | None:
        """Whether and when the platform implemented the outcome, once recorded; else null."""
        implementation = _step(obj, "implementation")
        return None if implementation is None else ImplementationOut(implementation).data


def _with_steps(disputes_qs: Any) -> Any:
    return disputes_qs.select_related("ruling__log_entry", "implementation__log_entry")


def dispute_data(dispute: Dispute) -> dict[str, Any]:
    # The services return the row they wrote; one query loads it with what the answer shows.
    fresh = _with_steps(disputes.disputes_of()).get(pk=dispute.pk)
    return DisputeOut(fresh).data


# --- views --------------------------------------------------------------------------------

_REFUSAL_STATUS = {"invalid": 400, "conflict": 409}
_NOT_FOUND = "None of your disputes has this id."


def _error(status_code: int, code: str, detail: str, errors: Any) -> Response:
    return Response({"detail": detail, "code": code, "errors": errors}, status=status_code)


def _rejected(exc: disputes.DisputeRejected) -> Response:
    return _error(_REFUSAL_STATUS.get(exc.code, 400), exc.code, exc.message, exc.errors)


def _invalid(detail: str, errors: Any) -> Response:
    return _error(400, "invalid", detail, errors)


def _responses(*codes: int) -> dict[int, OpenApiResponse]:
    described = {
        400: "Invalid input (every problem named); nothing was written",
        401: "No, an invalid or a revoked API key",
        404: "None of your disputes has this id",
        409: "The dispute's state refuses it (already ruled, or no ruling yet; already "
        "recorded; a referral recorded before with other facts); nothing was written",
    }
    return {code: OpenApiResponse(_ERROR_SCHEMA, description=described[code]) for code in codes}


def _platform_disputes(request: Request) -> Any:
    return _with_steps(disputes.disputes_of([client_platform(request).pk]))


def _dispute(request: Request, dispute_id: str) -> Dispute | None:
    """The caller's platform's dispute, or None (a malformed id, another platform's dispute
    and an unknown one alike)."""
    if not _UUID.fullmatch(dispute_id):
        return None
    found: Dispute | None = _platform_disputes(request).filter(public_id=dispute_id).first()
    return found


DISPUTE_ID = OpenApiParameter(
    "dispute_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The dispute's id."
)
_NOW = "2026-11-25T10:00:00Z"
_EXAMPLE_DISPUTE = {
    "id": "3f1c9a52-8d7e-4b0a-9f4e-2c6d1e8b7a10",
    "decision": "9b2d4e61-0c3a-4f8b-a1d2-5e6f7a8b9c0d",
    "platform": "vidshare",
    "complainant": "subject",
    "body": "Appeals Centre Europe",
    "referred_at": "2026-11-25T10:00:00Z",
    "created_at": "2026-11-25T10:02:13.512000Z",
    "log_index": 4812,
    "leaf_hash": "5d1f0e7c9a3b2d4f6e8a0c1b3d5f7e9a1c3b5d7f9e0a2c4b6d8f0e1a3c5b7d9f",
    "status": "referred",
    "ruling": None,
    "implementation": None,
}
_EXAMPLE_RULED = {
    **_EXAMPLE_DISPUTE,
    "status": "implemented",
    "ruling": {
        "outcome": "overturned",
        "decided_at": "2026-12-20T15:30:00Z",
        "log_index": 5120,
        "leaf_hash": "a7c9e1f3b5d7092b4d6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b",
    },
    "implementation": {
        "implemented": True,
        "implemented_at": "2026-12-21T09:00:00Z",
        "log_index": 5133,
        "leaf_hash": "0b2d4f6a8c0e1a3c5e7b9d1f3a5c7e9b0d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c",
    },
}


class DisputeListCreateApi(generics.GenericAPIView[Dispute]):
    serializer_class = DisputeOut
    pagination_class = NewestFirst
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Dispute.objects.none()
        return _platform_disputes(self.request)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "decision",
                OpenApiTypes.UUID,
                description="Only the disputes of this decision (its id).",
            )
        ],
        responses={200: DisputeOut(many=True), **_responses(400, 401)},
        summary="Your platform's out-of-court disputes, newest first",
        tags=["disputes"],
    )
    def get(self, request: Request) -> Response:
        queryset = self.get_queryset()
        decision = request.query_params.get("decision")
        if decision is not None:
            if not _UUID.fullmatch(decision):
                return _invalid(
                    "Invalid parameters.", {"decision": ["Must be a decision's id (a UUID)."]}
                )
            queryset = queryset.filter(decision__public_id=decision)
        page = self.paginate_queryset(queryset)
        assert page is not None  # a pagination class is set
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=ReferralIn,
        responses={
            201: OpenApiResponse(DisputeOut, description="Recorded, with its log entry"),
            200: OpenApiResponse(
                DisputeOut, description="Already recorded with exactly these facts: that one"
            ),
            **_responses(400, 401, 409),
        },
        examples=[
            OpenApiExample(
                "A creator took a removal to a certified body",
                request_only=True,
                value={
                    "decision": "9b2d4e61-0c3a-4f8b-a1d2-5e6f7a8b9c0d",
                    "complainant": "subject",
                    "body": "Appeals Centre Europe",
                    "referred_at": _NOW,
                },
            ),
            OpenApiExample(
                "Recorded", response_only=True, status_codes=["201"], value=_EXAMPLE_DISPUTE
            ),
            OpenApiExample(
                "Every problem named",
                response_only=True,
                status_codes=["400"],
                value={
                    "detail": "The referral is invalid; nothing was recorded.",
                    "code": "invalid",
                    "errors": {
                        "complainant": [
                            "This decision was not taken on a notice, so there is no "
                            "notifier to refer it."
                        ],
                        "referred_at": [
                            "Must not be in the future (now is 2026-11-25T10:00:00+00:00)."
                        ],
                    },
                },
            ),
        ],
        summary="Record that a decision was referred to an out-of-court dispute settlement "
        "body (DSA Article 21)",
        tags=["disputes"],
    )
    def post(self, request: Request) -> Response:
        parsed, errors = _parse(ReferralIn, request.data)
        platform = client_platform(request)
        decision: Decision | None = None
        if parsed["decision"] is not disputes.SKIP:
            decision = Decision.objects.filter(
                platform=platform, public_id=parsed["decision"]
            ).first()
            if decision is None:
                errors["decision"] = ["None of your decisions has this id."]
        now = timezone.now()
        _merge(
            errors,
            disputes.referral_errors(
                decision=decision,
                complainant=parsed["complainant"],
                body=parsed["body"],
                referred_at=parsed["referred_at"],
                now=now,
            ),
        )
        if errors:
            return _invalid("The referral is invalid; nothing was recorded.", errors)
        assert decision is not None  # else errors["decision"]
        existing = disputes.same_referral(
            decision=decision,
            complainant=parsed["complainant"],
            body=parsed["body"],
            referred_at=parsed["referred_at"],
        )
        if existing is not None:
            return Response(dispute_data(existing), status=status.HTTP_200_OK)
        try:
            dispute = disputes.refer_dispute(
                decision=decision,
                complainant=parsed["complainant"],
                body=parsed["body"],
                referred_at=parsed["referred_at"],
                actor=client_api_key(request),
                now=now,
            )
        except disputes.DisputeRejected as exc:
            return _rejected(exc)
        return Response(dispute_data(dispute), status=status.HTTP_201_CREATED)


class DisputeDetailApi(APIView):
    @extend_schema(
        parameters=[DISPUTE_ID],
        responses={200: DisputeOut, **_responses(401, 404)},
        examples=[OpenApiExample("Ruled and implemented", value=_EXAMPLE_RULED)],
        summary="One of your disputes, with its ruling and implementation",
        tags=["disputes"],
    )
    def get(self, request: Request, dispute_id: str) -> Response:
        dispute = _dispute(request, dispute_id)
        if dispute is None:
            return _error(404, "not_found", _NOT_FOUND, {})
        return Response(DisputeOut(dispute).data)


class RulingApi(APIView):
    @extend_schema(
        parameters=[DISPUTE_ID],
        request=RulingIn,
        responses={
            201: OpenApiResponse(DisputeOut, description="Recorded, with its log entry"),
            200: OpenApiResponse(DisputeOut, description="This very ruling was recorded before"),
            **_responses(400, 401, 404, 409),
        },
        examples=[
            OpenApiExample(
                "The body overturned the decision",
                request_only=True,
                value={"outcome": "overturned", "decided_at": "2026-12-20T15:30:00Z"},
            ),
        ],
        summary="Record the body's outcome of a dispute (once)",
        tags=["disputes"],
    )
    def post(self, request: Request, dispute_id: str) -> Response:
        dispute = _dispute(request, dispute_id)
        if dispute is None:
            return _error(404, "not_found", _NOT_FOUND, {})
        parsed, errors = _parse(RulingIn, request.data)
        now = timezone.now()
        _merge(
            errors,
            disputes.ruling_errors(
                dispute=dispute, outcome=parsed["outcome"], decided_at=parsed["decided_at"], now=now
            ),
        )
        if errors:
            return _invalid("The ruling is invalid; nothing was recorded.", errors)
        ruling = _step(dispute, "ruling")
        if ruling is not None and (ruling.outcome, ruling.decided_at) == (
            parsed["outcome"],
            parsed["decided_at"],
        ):
            return Response(DisputeOut(dispute).data, status=status.HTTP_200_OK)
        try:
            disputes.record_ruling(
                dispute=dispute,
                outcome=parsed["outcome"],
                decided_at=parsed["decided_at"],
                actor=client_api_key(request),
                now=now,
            )
        except disputes.DisputeRejected as exc:
            return _rejected(exc)
        return Response(dispute_data(dispute), status=status.HTTP_201_CREATED)


class ImplementationApi(APIView):
    @extend_schema(
        parameters=[DISPUTE_ID],
        request=ImplementationIn,
        responses={
            201: OpenApiResponse(DisputeOut, description="Recorded, with its log entry"),
            200: OpenApiResponse(DisputeOut, description="This very answer was recorded before"),
            **_responses(400, 401, 404, 409),
        },
        examples=[
            OpenApiExample(
                "Implemented the next morning",
                request_only=True,
                value={"implemented": True, "implemented_at": "2026-12-21T09:00:00Z"},
            ),
            OpenApiExample(
                "Not implemented",
                request_only=True,
                value={"implemented": False, "implemented_at": None},
            ),
            OpenApiExample(
                "Ruled and implemented",
                response_only=True,
                status_codes=["201"],
                value=_EXAMPLE_RULED,
            ),
        ],
        summary="Record whether and when you implemented the body's outcome (once, after the "
        "ruling)",
        tags=["disputes"],
    )
    def post(self, request: Request, dispute_id: str) -> Response:
        dispute = _dispute(request, dispute_id)
        if dispute is None:
            return _error(404, "not_found", _NOT_FOUND, {})
        parsed, errors = _parse(ImplementationIn, request.data)
        now = timezone.now()
        _merge(
            errors,
            disputes.implementation_errors(
                dispute=dispute,
                ruling=_step(dispute, "ruling"),
                implemented=parsed["implemented"],
                implemented_at=parsed["implemented_at"],
                now=now,
            ),
        )
        if errors:
            return _invalid("The implementation is invalid; nothing was recorded.", errors)
        done = _step(dispute, "implementation")
        if done is not None and (done.implemented, done.implemented_at) == (
            parsed["implemented"],
            parsed["implemented_at"],
        ):
            return Response(DisputeOut(dispute).data, status=status.HTTP_200_OK)
        try:
            disputes.record_implementation(
                dispute=dispute,
                implemented=parsed["implemented"],
                implemented_at=parsed["implemented_at"],
                actor=client_api_key(request),
                now=now,
            )
        except disputes.DisputeRejected as exc:
            return _rejected(exc)
        return Response(dispute_data(dispute), status=status.HTTP_201_CREATED)
