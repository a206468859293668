"""The platforms' intake API: HTTP only. Validation is msgspec's and `rules`'; writes are
`services`'; this module decodes, calls one service and serializes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from moderation import forwarding, rules, selectors, services, webhooks
from moderation.auth import client_api_key, client_platform
from moderation.models import Decision, ModelVersion, Policy
from moderation.rules import MAX_DATE, MIN_CONTENT_DATE
from moderation.schemas import (
    EXAMPLE_AUTOMATED_BATCH,
    EXAMPLE_AUTOMATED_DECISION,
    EXAMPLE_BATCH,
    EXAMPLE_DECISION,
    INVALID_DECISION,
    MAX_INT32,
    SLUG_PATTERN,
    BatchInputError,
    DecisionIn,
    InputError,
    decode_batch,
    decode_decision,
    json_schema,
)
from moderation.vocabulary import (
    CATEGORY_FIELDS,
    GROUND_FIELDS,
    RESTRICTION_FIELDS,
    Action,
    Category,
    DecisionType,
    Ground,
)

_SCHEMAS, SCHEMA_COMPONENTS = json_schema()


def notice_url(request: Request | None, token: str) -> str:
    return notice_prefix(request) + token


def notice_prefix(request: Request | None) -> str:
    """The notice link without its token; computed once per request for a batch's links."""
    path = reverse("notice", args=["TOKEN"]).removesuffix("TOKEN")
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    return request.build_absolute_uri(path) if request is not None else path


# Where a decision's notice page serves its log receipt (ledger.urls, "notice-receipt").
RECEIPT_SUFFIX = "/receipt.tlog-proof"


# --- output -------------------------------------------------------------------------------

_OPTIONAL_TEXT = (
    "decision_visibility_other",
    "decision_monetary",
    "decision_monetary_other",
    "decision_provision",
    "decision_account",
    "account_type",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "category_specification_other",
    "internal_notes",
    "source_identity",
    "content_type_other",
    "content_language",
)


class DecisionOut(serializers.ModelSerializer[Decision]):
    id = serializers.UUIDField(source="public_id")
    platform = serializers.CharField(source="platform.slug")
    notice_url = serializers.SerializerMethodField()
    notifier_notice_url = serializers.SerializerMethodField()
    supersedes = serializers.UUIDField(source="supersedes.public_id", allow_null=True)
    policy = serializers.CharField(source="policy.key", allow_null=True)
    policy_version = serializers.IntegerField(source="policy.version", allow_null=True)
    model = serializers.CharField(source="model_version.model.name", allow_null=True)
    model_version = serializers.CharField(source="model_version.version", allow_null=True)
    automated_detection = serializers.SerializerMethodField()
    incompatible_content_illegal = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    moderator = serializers.SerializerMethodField()
    content_id = serializers.SerializerMethodField()
    log_index = serializers.IntegerField(source="log_entry_id")
    leaf_hash = serializers.SerializerMethodField()
    receipt_url = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = (
            "id",
            "puid",
            "platform",
            "notice_url",
            "notifier_notice_url",
            "log_index",
            "leaf_hash",
            "receipt_url",
            "decision_type",
            "action",
            "supersedes",
            *RESTRICTION_FIELDS,
            *GROUND_FIELDS,
            *CATEGORY_FIELDS,
            "policy",
            "policy_version",
            "decision_facts",
            "internal_notes",
            "source_type",
            "source_identity",
            "automated_detection",
            "automated_decision",
            "model",
            "model_version",
            "score",
            "threshold",
            "moderator",
            "subject",
            "content_type",
            "content_type_other",
            "content_language",
            "content_id",
            "territorial_scope",
            "content_date",
            "decided_at",
            "application_date",
            "notified_at",
            "created_at",
        )
        read_only_fields = fields
        # Shown as null when empty (`to_representation`): the schema says so.
        extra_kwargs = {field: {"allow_null": True} for field in _OPTIONAL_TEXT}

    def get_notice_url(self, obj: Decision) -> str:
        return notice_url(self.context.get("request"), obj.notice_token)

    def get_notifier_notice_url(self, obj: Decision) -> str | None:
        """The notifier's own notice link, when the platform named a notifier."""
        if not obj.notifier_token:
            return None
        return notice_url(self.context.get("request"), obj.notifier_token)

    def get_leaf_hash(self, obj: Decision) -> str:
        return bytes(obj.log_entry.leaf_hash).hex()

    def get_receipt_url(self, obj: Decision) -> str:
        return notice_url(self.context.get("request"), obj.notice_token) + RECEIPT_SUFFIX

    def get_automated_detection(self, obj: Decision) -> str:
        return "Yes" if obj.automated_detection else "No"

    def get_incompatible_content_illegal(self, obj: Decision) -> str | None:
        if obj.incompatible_content_illegal is None:
            return None
        return "Yes" if obj.incompatible_content_illegal else "No"

    def get_subject(self, obj: Decision) -> dict[str, str | None]:
        return {"account": obj.subject_account or None, "content": obj.subject_content or None}

    def get_moderator(self, obj: Decision) -> str | None:
        if obj.moderator_id is not None:
            return f"staff:{obj.moderator_id}"
        return obj.moderator_ref or None

    def get_content_id(self, obj: Decision) -> dict[str, str] | None:
        return {"EAN-13": obj.content_id_ean} if obj.content_id_ean else None

    def to_representation(self, instance: Decision) -> dict[str, Any]:
        data = super().to_representation(instance)
        for field in _OPTIONAL_TEXT:
            if data[field] == "":
                data[field] = None
        return data


def receipt(prefix: str, recorded: services.Recorded) -> dict[str, Any]:
    """One item of a batch's answer: the decision's links and its place in the log, the same
    receipt fields a single decision's answer carries."""
    notice = prefix + recorded.notice_token
    return {
        "id": str(recorded.public_id),
        "puid": recorded.puid,
        "status": "created" if recorded.created else "existing",
        "notice_url": notice,
        "notifier_notice_url": (
            prefix + recorded.notifier_token if recorded.notifier_token else None
        ),
        "log_index": recorded.log_index,
        "leaf_hash": recorded.leaf_hash.hex(),
        "receipt_url": notice + RECEIPT_SUFFIX,
    }


class ReceiptOut(serializers.Serializer[Any]):
    """A batch item's receipt (documentation: `receipt` builds it)."""

    id = serializers.UUIDField()
    puid = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["created", "existing"],
        help_text="existing: the same decision was already recorded; nothing new was written.",
    )
    notice_url = serializers.URLField(help_text="The creator's notice page.")
    notifier_notice_url = serializers.URLField(
        allow_null=True, help_text="The notifier's own notice page, when one was named."
    )
    log_index = serializers.IntegerField(help_text="The decision's entry in the log.")
    leaf_hash = serializers.CharField(help_text="SHA-256 of the entry (hex), RFC 9162 leaf.")
    receipt_url = serializers.URLField(
        help_text="A C2SP tlog-proof of the entry, to check against the signed checkpoint."
    )


class BatchOut(serializers.Serializer[Any]):
    decisions = ReceiptOut(many=True, help_text="One receipt per item, in the batch's order.")


# --- decisions ----------------------------------------------------------------------------


_ISO_TIME = "an ISO 8601 time with its offset, like 2026-11-01T00:00:00Z"


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO time, in UTC. "0001-01-01T00:00:00+14:00" parses, but its UTC time is in year 0,
    which the database adapter's conversion would fail on."""

    default_error_messages = {"invalid": f"Must be {_ISO_TIME}."}

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed: dt.datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            # In UTC: PostgreSQL refuses offsets beyond 15:59 that Python accepts (-20:25).
            return parsed.astimezone(dt.UTC)
        except OverflowError as exc:
            raise forms.ValidationError(
                "Out of range: the time must fall within years 1 to 9999 in UTC.", code="invalid"
            ) from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def _choice_filter(choices: list[tuple[str, str]], help_text: str) -> django_filters.ChoiceFilter:
    """A filter on one of `choices`; any other value is refused naming them all."""
    allowed = ", ".join(value for value, _ in choices)
    return django_filters.ChoiceFilter(
        choices=choices,
        help_text=help_text,
        error_messages={"invalid_choice": f"Must be one of {allowed}."},
    )


class DecisionFilter(django_filters.FilterSet):
    puid = django_filters.CharFilter(help_text="Your own id of the decision, exactly.")
    action = _choice_filter(Action.choices, "The decision's most severe effect.")
    decision_type = _choice_filter(DecisionType.choices, "The kind of decision.")
    decided_after = UtcIsoDateTimeFilter(
        field_name="decided_at",
        lookup_expr="gte",
        help_text=f"Decided at or after this time: {_ISO_TIME}.",
    )
    decided_before = UtcIsoDateTimeFilter(
        field_name="decided_at",
        lookup_expr="lt",
        help_text=f"Decided before this time: {_ISO_TIME}.",
    )

    class Meta:
        model = Decision
        fields = ("puid", "action", "decision_type")


def refuse_unknown_parameters(request: Request, known: Collection[str]) -> None:
    """A misspelt filter would otherwise be ignored, and its answer look like the filtered
    one: every parameter the endpoint does not take is named, with those it does."""
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        takes = ", ".join(sorted(known))
        raise ValidationError(
            {name[:100]: [f"Unknown parameter; this one takes {takes}."] for name in unknown}
        )


def _require_json(request: Request) -> bytes:
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InputError(f"Content-Type must be application/json, not {content_type or 'empty'}.")
    return request.body


BIGINT_MAX = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]{1,19}")

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "errors": {"type": "object"}},
}


class NewestFirst(CursorPagination):
    page_size = 100
    # The id follows insertion order; a cursor on it stays stable while decisions arrive.
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 1000
    page_size_query_description = "Decisions per page: 100 unless given, at most 1000."
    cursor_query_description = "Where a page starts: the `next` or `previous` link's."

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF checks a cursor's offset but not its position, which it compares with the id:
        a forged position ("abc", a NUL, 10**30) would fail in the query, not here."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            position = str(cursor.position)
            if not _INTEGER.fullmatch(position) or not -BIGINT_MAX <= int(position) <= BIGINT_MAX:
                raise NotFound(self.invalid_cursor_message)
        return cursor


def _decision(body: bytes) -> DecisionIn:
    """The body's decision. One that does not decode is refused naming every problem: each
    field's, and the rules' whose fields all decoded (`rules.every_problem`)."""
    try:
        return decode_decision(body)
    except InputError as exc:
        if exc.partial is None:
            raise
        errors = rules.every_problem(exc.partial, now=timezone.now())
        raise InputError(exc.message, errors, partial=exc.partial) from exc


def _decisions(body: bytes) -> list[DecisionIn]:
    """The batch's decisions. When one does not decode, every item's problems are named: the
    undecodable ones' as `_decision` names them, and the rules' of those that decoded."""
    try:
        return decode_batch(body, max_items=settings.LEDGER_MAX_BATCH)
    except BatchInputError as exc:
        now = timezone.now()
        errors = {}
        for index, partial in enumerate(exc.items):
            problems = rules.every_problem(partial, now=now)
            if problems:
                errors[index] = problems
        raise BatchInputError(errors or exc.errors, exc.items) from exc


_LIST_PARAMETERS = (*DecisionFilter.base_filters, "cursor", "page_size", "format")


def _examples(*examples: tuple[str, str, Any]) -> list[OpenApiExample]:
    return [
        OpenApiExample(name, value=value, description=description, request_only=True)
        for name, description, value in examples
    ]


_NEEDS_REGISTRATIONS = (
    "Names a model version and a policy: POST the /api/v1/models and /api/v1/policies "
    "examples first."
)


class DecisionListCreateApi(generics.ListAPIView[Decision]):
    serializer_class = DecisionOut
    filterset_class = DecisionFilter
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            # drf-spectacular, describing the filters: there is no platform to scope to.
            return Decision.objects.none()
        return selectors.decisions_for_platform(client_platform(self.request))

    @extend_schema(
        responses={
            200: DecisionOut(many=True),
            400: OpenApiResponse(
                _ERROR_SCHEMA,
                description="A filter's value is invalid, or a parameter is unknown: each is "
                "named with what it takes",
            ),
        },
        summary="Your decisions, newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        refuse_unknown_parameters(request, _LIST_PARAMETERS)
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"application/json": _SCHEMAS["single"]},
        responses={
            201: DecisionOut,
            200: OpenApiResponse(DecisionOut, description="Already recorded: the existing one"),
            400: OpenApiResponse(
                _ERROR_SCHEMA,
                description="Invalid: every problem, keyed by field; nothing was written",
            ),
            409: OpenApiResponse(_ERROR_SCHEMA, description="The puid names another decision"),
        },
        examples=_examples(
            (
                "A moderator removes a reported video",
                "Needs nothing registered first.",
                EXAMPLE_DECISION,
            ),
            (
                "A classifier hides a post from search",
                _NEEDS_REGISTRATIONS,
                EXAMPLE_AUTOMATED_DECISION,
            ),
        ),
        summary="Record one decision",
    )
    def post(self, request: Request) -> Response:
        decision = _decision(_require_json(request))
        platform = client_platform(request)
        recorded = services.record_decision(
            platform=platform, decision=decision, api_key=client_api_key(request)
        )
        instance = selectors.get_decision_for_platform(platform, recorded.public_id)
        return Response(
            DecisionOut(instance, context={"request": request}).data,
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )


class DecisionBatchApi(APIView):
    batch = True

    @extend_schema(
        request={"application/json": _SCHEMAS["batch"]},
        responses={
            201: OpenApiResponse(BatchOut, description="Recorded; a receipt per item"),
            200: OpenApiResponse(BatchOut, description="Every decision was already recorded"),
            400: OpenApiResponse(
                _ERROR_SCHEMA,
                description="Every problem of every item, keyed by item index and field; "
                "nothing was written",
            ),
            409: OpenApiResponse(_ERROR_SCHEMA, description="Some puids name other decisions"),
        },
        examples=_examples(
            (
                "Decisions of a moderation team",
                "Needs nothing registered first.",
                EXAMPLE_BATCH,
            ),
            ("Decisions of a classifier", _NEEDS_REGISTRATIONS, EXAMPLE_AUTOMATED_BATCH),
        ),
        summary="Record up to 1,000 decisions, all or nothing",
    )
    def post(self, request: Request) -> Response:
        items = _decisions(_require_json(request))
        results = services.record_decisions(
            platform=client_platform(request), decisions=items, api_key=client_api_key(request)
        )
        created = any(r.created for r in results)
        prefix = notice_prefix(request)
        return Response(
            {"decisions": [receipt(prefix, r) for r in results]},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DecisionDetailApi(generics.RetrieveAPIView[Decision]):
    serializer_class = DecisionOut

    def get_object(self) -> Decision:
        return selectors.get_decision_for_platform(
            client_platform(self.request), self.kwargs["public_id"]
        )


# --- models and policies ------------------------------------------------------------------


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not know, instead of silently ignoring them, and names them
    together with every other problem of the body."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors = {name: ["Unknown field."] for name in unknown}
        try:
            value: dict[str, Any] = super().to_internal_value(data)
        except ValidationError as exc:
            raise ValidationError({**errors, **exc.detail}) from exc  # type: ignore[dict-item]
        if errors:
            raise ValidationError(errors)
        return value


# Strict JSON types: DRF's fields coerce ("0.5" and true become numbers, 5 becomes "5"), so a
# client's type error would be recorded as something it did not mean.


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSlugField(StrictCharField):
    """A slug, whole value: DRF's SlugField anchors with $, which passes "spam\\n"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)
        self.validators.append(
            RegexValidator(SLUG_PATTERN, message="Letters, numbers, underscores or hyphens only.")
        )


class StrictURLField(serializers.URLField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class BoundedDateField(serializers.DateField):
    """An ISO date between `low` and `high`, both included."""

    def __init__(self, *, low: dt.date, high: dt.date, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DD")
        parsed: dt.date = super().to_internal_value(value)
        if not self.low <= parsed <= self.high:
            raise ValidationError(f"Must be between {self.low} and {self.high}.")
        return parsed


class ModelVersionIn(StrictSerializer):
    name = StrictSlugField(max_length=100)
    version = StrictCharField(max_length=64, trim_whitespace=False)
    released_at = BoundedDateField(
        low=MIN_CONTENT_DATE, high=MAX_DATE, help_text=f"From {MIN_CONTENT_DATE} to {MAX_DATE}."
    )
    threshold = StrictFloatField(min_value=0.0, max_value=1.0)
    card_url = StrictURLField(max_length=500, required=False, default="")


class LogReceiptMixin(serializers.Serializer[Any]):
    """The receipt fields of a row that is a log entry (a policy or model version)."""

    log_index = serializers.IntegerField(
        source="log_entry_id", read_only=True, help_text="The row's entry in the log."
    )
    leaf_hash = serializers.SerializerMethodField(
        help_text="SHA-256 of the entry (hex), its RFC 9162 leaf hash."
    )

    def get_leaf_hash(self, obj: Any) -> str:
        return bytes(obj.log_entry.leaf_hash).hex()


# A list that takes no filter: a parameter sent to one would be ignored, and all rows answered.
_NO_PARAMETERS = OpenApiResponse(_ERROR_SCHEMA, description="A parameter was sent: none is taken")


def _with_log_entries(rows: Any) -> Any:
    # The leaf hash only: a list of versions should not fetch every entry's payload.
    return rows.select_related("log_entry").defer("log_entry__payload")


class ModelVersionOut(LogReceiptMixin, serializers.ModelSerializer[ModelVersion]):
    name = serializers.CharField(source="model.name")
    # A string, not a "uri": it is "" when none was given.
    card_url = serializers.CharField()

    class Meta:
        model = ModelVersion
        fields = (
            "name",
            "version",
            "released_at",
            "threshold",
            "card_url",
            "created_at",
            "log_index",
            "leaf_hash",
        )
        read_only_fields = fields


EXAMPLE_MODEL_VERSION = {
    "name": "hate-speech",
    "version": "v3",
    "released_at": "2026-11-20",
    "threshold": 0.85,
    "card_url": "https://vidshare.example/models/hate-speech/v3",
}


class ModelVersionListCreateApi(generics.ListAPIView[ModelVersion]):
    serializer_class = ModelVersionOut
    pagination_class = None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ModelVersion.objects.none()
        return _with_log_entries(
            ModelVersion.objects.filter(model__platform=client_platform(self.request))
        ).select_related("model")

    @extend_schema(
        responses={200: ModelVersionOut(many=True), 400: _NO_PARAMETERS},
        summary="Your registered model versions",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        refuse_unknown_parameters(request, ("format",))
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ModelVersionIn,
        responses={
            201: ModelVersionOut,
            200: OpenApiResponse(ModelVersionOut, description="Already registered: the same"),
            400: OpenApiResponse(
                _ERROR_SCHEMA, description="Invalid: every problem, by field; nothing written"
            ),
            409: OpenApiResponse(_ERROR_SCHEMA, description="Registered with other details"),
        },
        examples=_examples(
            (
                "A new version of a classifier",
                "Its decisions then name model hate-speech, model_version v3.",
                EXAMPLE_MODEL_VERSION,
            )
        ),
        summary="Register a detection model's version (a log entry)",
    )
    def post(self, request: Request) -> Response:
        data = ModelVersionIn(data=request.data)
        data.is_valid(raise_exception=True)
        version, created = services.register_model_version(
            platform=client_platform(request),
            actor=client_api_key(request),
            **data.validated_data,
        )
        return Response(
            ModelVersionOut(version).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PolicyIn(StrictSerializer):
    key = StrictSlugField(max_length=100)
    version = StrictIntegerField(min_value=1, max_value=MAX_INT32, required=False)
    title = StrictCharField(max_length=200)
    category = serializers.ChoiceField(choices=Category.choices)
    ground = serializers.ChoiceField(choices=Ground.choices)
    clause = StrictCharField(max_length=500)
    url = StrictURLField(max_length=500, required=False, default="")
    summary = StrictCharField(max_length=5000, required=False, default="")


class PolicyOut(LogReceiptMixin, serializers.ModelSerializer[Policy]):
    # A string, not a "uri": it is "" when none was given.
    url = serializers.CharField()

    class Meta:
        model = Policy
        fields = (
            "key",
            "version",
            "title",
            "category",
            "ground",
            "clause",
            "url",
            "summary",
            "created_at",
            "log_index",
            "leaf_hash",
        )
        read_only_fields = fields


EXAMPLE_POLICY = {
    "key": "hate-speech",
    "title": "Hateful conduct",
    "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "clause": "Community Guidelines §4.2 (Hateful conduct)",
    "url": "https://vidshare.example/community-guidelines#hateful-conduct",
    "summary": "No content that attacks or dehumanises people for a protected characteristic.",
}


class PolicyListCreateApi(generics.ListAPIView[Policy]):
    serializer_class = PolicyOut
    pagination_class = None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Policy.objects.none()
        return _with_log_entries(Policy.objects.filter(platform=client_platform(self.request)))

    @extend_schema(
        responses={200: PolicyOut(many=True), 400: _NO_PARAMETERS},
        summary="Your registered policy versions",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        refuse_unknown_parameters(request, ("format",))
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PolicyIn,
        responses={
            201: PolicyOut,
            200: OpenApiResponse(PolicyOut, description="This version, already registered"),
            400: OpenApiResponse(
                _ERROR_SCHEMA, description="Invalid: every problem, by field; nothing written"
            ),
            409: OpenApiResponse(_ERROR_SCHEMA, description="Registered with other content"),
        },
        examples=_examples(
            (
                "The next version of a policy",
                "Without `version`, the next one is registered; decisions then name policy "
                "hate-speech (its latest version, or `policy_version`).",
                EXAMPLE_POLICY,
            )
        ),
        summary="Register a policy's version (a log entry)",
    )
    def post(self, request: Request) -> Response:
        data = PolicyIn(data=request.data)
        data.is_valid(raise_exception=True)
        policy, created = services.register_policy(
            platform=client_platform(request), actor=client_api_key(request), **data.validated_data
        )
        return Response(
            PolicyOut(policy).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- errors -------------------------------------------------------------------------------


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """One error shape for the whole API: {"detail": "...", "errors": {...}}."""
    is_batch = getattr(context.get("view"), "batch", False)
    if isinstance(exc, InputError):
        return _error(400, exc.message, exc.errors)
    if isinstance(exc, BatchInputError):
        return _error(400, _batch_message(len(exc.errors)), _by_index(exc.errors))
    if isinstance(exc, services.DecisionsRejected):
        if is_batch:
            return _error(400, _batch_message(len(exc.errors)), _by_index(exc.errors))
        return _error(400, INVALID_DECISION, exc.errors[0])
    if isinstance(exc, services.PuidConflict):
        return _conflict(exc, is_batch)
    if isinstance(exc, services.RegistrationConflict):
        return _error(409, exc.message, {})
    if isinstance(exc, RequestDataTooBig):
        return _error(413, "The request body is too large.", {})
    if isinstance(exc, ValidationError):
        return _error(400, _invalid_message(context.get("request")), exc.detail)
    if isinstance(exc, ParseError):
        return _error(400, str(exc.detail), {})
    return drf_exception_handler(exc, context)


def _invalid_message(request: Request | None) -> str:
    """What a 400 says was not done: a read recorded nothing to begin with."""
    method = request.method if request is not None else "POST"
    if method in SAFE_METHODS:
        return "Invalid query parameters: each is named with what it takes."
    if method == "POST":
        return "Invalid input; nothing was recorded."
    return "Invalid input; nothing was changed."


def _batch_message(count: int) -> str:
    return f"{count} decision(s) in the batch are invalid; nothing was recorded."


def _by_index(errors: dict[int, Any]) -> dict[str, Any]:
    return {str(index): item for index, item in sorted(errors.items())}


def _conflict(exc: services.PuidConflict, is_batch: bool) -> Response:
    def message(conflict: services.Conflict) -> list[str]:
        return [
            f"puid {conflict.puid} is already recorded as decision {conflict.existing_id} "
            "with different content; a recorded decision is never changed (record a new "
            "decision that supersedes it)."
        ]

    if not is_batch:
        conflict = exc.conflicts[0]
        response = _error(409, message(conflict)[0], {"puid": message(conflict)})
        response.data["existing"] = {"id": str(conflict.existing_id), "puid": conflict.puid}
        return response
    response = _error(
        409,
        f"{len(exc.conflicts)} puid(s) already name other decisions; nothing was recorded.",
        {str(i): {"puid": message(c)} for i, c in sorted(exc.conflicts.items())},
    )
    response.data["existing"] = [
        {"index": i, "id": str(c.existing_id), "puid": c.puid}
        for i, c in sorted(exc.conflicts.items())
    ]
    return response


def _error(code: int, detail: str, errors: Any) -> Response:
    return Response({"detail": detail, "errors": errors}, status=code)


# --- forwarding to the EU -----------------------------------------------------------------


class EuForwardingIn(StrictSerializer):
    api_token = StrictCharField(max_length=500, write_only=True)
    # The token goes there: https on public addresses only, unless the setting allows others.
    endpoint = StrictURLField(
        max_length=500,
        required=False,
        default="",
        validators=[forwarding.validate_endpoint],
        help_text="The EU API's address; the EU's production API when omitted.",
    )
    enabled = StrictBooleanField(
        required=False, default=True, help_text="false keeps the token without forwarding."
    )


class EuForwardingOut(serializers.Serializer[Any]):
    """What `selectors.eu_forwarding_status` says (documentation): never the token."""

    configured = serializers.BooleanField(help_text="false: no token was given; nothing else.")
    enabled = serializers.BooleanField(required=False)
    endpoint = serializers.CharField(required=False)
    paused_reason = serializers.CharField(
        required=False, allow_null=True, help_text="Why forwarding stopped (a refused token)."
    )
    statements = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        help_text="How many statements are in each forwarding state.",
    )


EXAMPLE_EU_FORWARDING = {
    "api_token": "1|4Jx0mVhqGfTn2bQyWc8sRkLe7uPzAd3H",
    "enabled": False,
}


class EuForwardingApi(APIView):
    """A platform gives its EU DSA Transparency Database token; the ledger then forwards every
    statement it records for that platform (the token is stored encrypted, never returned)."""

    @extend_schema(responses={200: EuForwardingOut}, summary="The EU forwarding's status")
    def get(self, request: Request) -> Response:
        return Response(selectors.eu_forwarding_status(client_platform(request)))

    @extend_schema(
        request=EuForwardingIn,
        responses={
            200: OpenApiResponse(EuForwardingOut, description="Set; the status, never the token"),
            400: OpenApiResponse(
                _ERROR_SCHEMA, description="Invalid: every problem, by field; nothing changed"
            ),
        },
        examples=_examples(
            (
                "Store the token, forward later",
                "Kept encrypted; PUT again with enabled true to start forwarding.",
                EXAMPLE_EU_FORWARDING,
            )
        ),
        summary="Give the EU DSA Transparency Database token",
    )
    def put(self, request: Request) -> Response:
        data = EuForwardingIn(data=request.data)
        data.is_valid(raise_exception=True)
        platform = client_platform(request)
        forwarding.configure_eu_forwarding(
            platform=platform, actor=client_api_key(request), **data.validated_data
        )
        return Response(selectors.eu_forwarding_status(platform))


# --- webhooks -----------------------------------------------------------------------------


class WebhookIn(StrictSerializer):
    # Messages are posted there: https on public addresses only, unless the setting allows
    # others (LEDGER_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS).
    url = StrictURLField(max_length=500, validators=[webhooks.validate_url])
    rotate = StrictBooleanField(
        required=False,
        default=False,
        help_text="Make a new signing secret even though one is set (the old one stops at once).",
    )


class WebhookOut(serializers.Serializer[Any]):
    url = serializers.CharField()
    secret = serializers.CharField(
        allow_null=True,
        help_text="The signing secret (whsec_...), only in the answer that made it; else null.",
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookStatusOut(serializers.Serializer[Any]):
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


EXAMPLE_WEBHOOK = {"url": "https://example.com/hooks/ledger"}


def _acting_key(request: Request) -> Any:
    """The API key that made the request (DRF's `request.auth`), the audit row's actor."""
    client_platform(request)  # asserts a platform client
    return request.auth


class WebhookApi(APIView):
    """Where the ledger posts the platform's events (appeal outcomes), signed per Standard
    Webhooks. The signing secret is made when the URL is first set and shown in that answer
    only; changing the URL keeps it unless `rotate` is true."""

    @extend_schema(
        responses={
            200: WebhookStatusOut,
            404: OpenApiResponse(_ERROR_SCHEMA, description="No webhook is set"),
        },
        summary="The webhook URL (never the secret)",
    )
    def get(self, request: Request) -> Response:
        endpoint = webhooks.endpoint_of(client_platform(request))
        if endpoint is None:
            return _error(404, "No webhook is set; PUT a URL first.", {})
        return Response(WebhookStatusOut(endpoint).data)

    @extend_schema(
        request=WebhookIn,
        responses={
            201: OpenApiResponse(WebhookOut, description="Set; the secret is shown this once"),
            200: OpenApiResponse(WebhookOut, description="Changed; secret is null unless rotated"),
            400: OpenApiResponse(
                _ERROR_SCHEMA, description="Invalid: every problem, by field; nothing changed"
            ),
        },
        examples=_examples(
            (
                "Your receiver",
                "https, on a public address: the host must resolve to one.",
                EXAMPLE_WEBHOOK,
            )
        ),
        summary="Set the webhook URL",
    )
    def put(self, request: Request) -> Response:
        data = WebhookIn(data=request.data)
        data.is_valid(raise_exception=True)
        done = webhooks.set_endpoint(
            platform=client_platform(request), actor=_acting_key(request), **data.validated_data
        )
        body = {**WebhookStatusOut(done.endpoint).data, "secret": done.secret}
        return Response(
            body, status=status.HTTP_201_CREATED if done.created else status.HTTP_200_OK
        )

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Removed; events wait until a URL is set again"),
            404: OpenApiResponse(_ERROR_SCHEMA, description="No webhook is set"),
        },
        summary="Remove the webhook",
    )
    def delete(self, request: Request) -> Response:
        if not webhooks.remove_endpoint(
            platform=client_platform(request), actor=_acting_key(request)
        ):
            return _error(404, "No webhook is set.", {})
        return Response(status=status.HTTP_204_NO_CONTENT)
