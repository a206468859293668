"""The reviewer API, for platforms that review appeals in their own tools: HTTP only.

A reviewer authenticates with their token (appeals.auth), claims the next item, keeps its lease
with heartbeats, and decides, escalates or releases it; every write is one call to
`appeals.services` or `appeals.labels`, whose refusals become statuses here (REFUSAL_STATUS).

Items come in two kinds with two views. An appeal shows the decision whole. An audit item
(a blind sample, or a planted known-answer item that must look exactly like one) shows the
decision blind (`BlindDecisionOut`): nothing of the model, its score or threshold, nor any
identifier that leads to the decision's published record, which names them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals import labels, selectors, services
from appeals.auth import IsReviewer, ReviewerTokenAuthentication, request_reviewer
from appeals.models import (
    AppealStatus,
    Appellant,
    ItemKind,
    ItemState,
    Label,
    Outcome,
    Review,
    ReviewItem,
    ReviewQueue,
)
from moderation import services as moderation_services
from moderation.api import (
    _OPTIONAL_TEXT as OPTIONAL_TEXT,
)
from moderation.api import (
    BIGINT_MAX,
    BoundedDateField,
    DecisionOut,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from moderation.models import Decision, Policy
from moderation.schemas import MAX_INT32
from moderation.selectors import DECISION_RELATED, decision_chain
from moderation.statement_rules import MAX_DATE, MIN_END_DATE, SHORT_TEXT
from moderation.vocabulary import (
    CATEGORY_FIELDS,
    GROUND_FIELDS,
    RESTRICTION_FIELDS,
    AccountAction,
    Monetary,
    Provision,
    Visibility,
)

# What an API client is told for each refusal of the review services.
REFUSAL_STATUS = {
    "invalid": 400,
    "not_found": 404,
    "not_held": 409,
    "lease_expired": 409,
    "stale_version": 409,
    "own_decision": 403,
    "already_reviewed": 403,
    "not_senior": 403,
}
# The restriction fields of a decision (moderation.services.Measure), as the native API names
# them; a modification names at least one of the four restrictions.
RESTRICTIONS = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)
MEASURE_FIELDS = tuple(f.name for f in dataclasses.fields(moderation_services.Measure))


# --- output -------------------------------------------------------------------------------


class AppealBriefOut(serializers.Serializer[Any]):
    id = serializers.UUIDField(source="public_id")
    appellant = serializers.ChoiceField(choices=Appellant.choices)
    status = serializers.ChoiceField(choices=AppealStatus.choices)
    filed_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(source="deadline_at")
    # The appellant's own words: private, shown to the reviewers who decide the appeal.
    statement = serializers.CharField()


# What decide accepts as `outcome`, by kind of item: an appeal, a proposal waiting for a second
# approval, an audit item.
APPEAL_OUTCOMES = tuple(o.value for o in services.DECIDING_OUTCOMES)
APPROVAL_OUTCOMES = (Outcome.APPROVED.value, Outcome.REJECTED.value)
LABEL_OUTCOMES = tuple(Label.values)
APPEAL_OUTCOMES_ANY = (*APPEAL_OUTCOMES, *APPROVAL_OUTCOMES)


def item_outcomes(item: ReviewItem) -> list[str]:
    if item.kind == ItemKind.AUDIT:
        return list(LABEL_OUTCOMES)
    if item.proposal_id is not None:
        return list(APPROVAL_OUTCOMES)
    return list(APPEAL_OUTCOMES)


class ProposalOut(serializers.Serializer[Review]):
    """The outcome a first reviewer proposed, waiting for a second reviewer's approval; who
    proposed it is not shown, so that the approval weighs the case, not the colleague."""

    outcome = serializers.ChoiceField(choices=[(o, o) for o in APPEAL_OUTCOMES])
    reason = serializers.CharField()
    proposed_at = serializers.DateTimeField(source="decided_at")


class ReviewItemOut(serializers.Serializer[ReviewItem]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=[(ItemKind.APPEAL.value, ItemKind.APPEAL.label)])
    version = serializers.IntegerField(help_text="Send it back with decide and escalate.")
    platform = serializers.CharField(source="queue.platform.slug")
    queue = serializers.CharField(source="queue.slug")
    state = serializers.ChoiceField(choices=ItemState.choices)
    priority = serializers.IntegerField()
    senior_only = serializers.BooleanField()
    due_at = serializers.DateTimeField()
    lease_expires_at = serializers.DateTimeField(allow_null=True)
    outcomes = serializers.SerializerMethodField()
    appeal = AppealBriefOut(allow_null=True)
    proposal = ProposalOut(
        allow_null=True,
        help_text="A proposed outcome waiting for your approval or rejection; else null.",
    )
    decision = DecisionOut()
    history = serializers.SerializerMethodField()

    @extend_schema_field(DecisionOut(many=True))
    def get_history(self, item: ReviewItem) -> list[dict[str, Any]]:
        """Every decision about the same content or account, oldest first."""
        chain = (
            decision_chain(item.decision)
            .select_related(*DECISION_RELATED)
            .defer("log_entry__payload")
        )
        return DecisionOut(chain, many=True, context=self.context).data  # type: ignore[return-value]

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=APPEAL_OUTCOMES_ANY))
    )
    def get_outcomes(self, item: ReviewItem) -> list[str]:
        """The outcomes decide accepts for this item: an appeal's, or a proposal's answers."""
        return item_outcomes(item)


# --- the blind view of audit items ---------------------------------------------------------

# Every field of the full decision view (DecisionOut) is either shown to an audit's reviewer or
# hidden from them, and a test ties the two lists to DecisionOut's: a field added there fails
# it until someone decides which side it is on.
BLIND_SHOWN = (
    "decision_type",
    "action",
    *RESTRICTION_FIELDS,
    *GROUND_FIELDS,
    *CATEGORY_FIELDS,
    "policy",
    "policy_version",
    "decision_facts",
    "source_type",
    "content_type",
    "content_type_other",
    "content_language",
    "territorial_scope",
    "content_date",
    "application_date",
)
BLIND_HIDDEN = frozenset(
    {
        # The model and what it measured: what the audit must not be swayed by.
        "model",
        "model_version",
        "score",
        "threshold",
        "automated_detection",
        "automated_decision",
        # Identifiers and links to the decision's published record, which names the model: the
        # log entry, its hash and receipt, the notice pages, the ids the platform and the log
        # know it by, the decision it replaced, the content's and subject's references.
        "id",
        "puid",
        "platform",
        "log_index",
        "leaf_hash",
        "receipt_url",
        "notice_url",
        "notifier_notice_url",
        "supersedes",
        "subject",
        "content_id",
        # Exact times find the record too; `decided_on` (the day) is shown instead.
        "decided_at",
        "notified_at",
        "created_at",
        # Who decided (a human moderator, or nobody: an automated decision), and the
        # platform's private notes and notifier identity.
        "moderator",
        "internal_notes",
        "source_identity",
    }
)
# Free text a platform wrote, where a model's name or score may be quoted: redacted.
BLIND_FREE_TEXT = (
    "decision_visibility_other",
    "decision_monetary_other",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "category_specification_other",
    "decision_facts",
    "content_type_other",
)
# Shown as null when empty, as the full view shows them.
_BLIND_OPTIONAL = tuple(name for name in OPTIONAL_TEXT if name in BLIND_SHOWN)


class BlindPolicyOut(serializers.ModelSerializer[Policy]):
    """The policy by its wording. Not by its key: platforms name a classifier after the policy
    it enforces ("hate-speech" both), and the key would then be the model's name."""

    # Text, not a URI: a quoted model name in it is blanked out as "[redacted]".
    url = serializers.CharField()

    class Meta:
        model = Policy
        fields = ("title", "version", "clause", "url", "summary")
        read_only_fields = fields


class BlindDecisionOut(serializers.ModelSerializer[Decision]):
    """The decision as an audit's reviewer sees it: what was decided, on which ground and
    policy, about what kind of content; nothing of the model, nothing that finds the record."""

    policy = BlindPolicyOut(allow_null=True, help_text="The policy the decision applied.")
    policy_version = serializers.IntegerField(source="policy.version", allow_null=True)
    # Text, not a URI: a quoted model name in it is blanked out as "[redacted]".
    decision_ground_reference_url = serializers.CharField(allow_null=True)
    incompatible_content_illegal = serializers.SerializerMethodField()
    decided_on = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = (*BLIND_SHOWN, "decided_on")
        read_only_fields = fields
        extra_kwargs = {field: {"allow_null": True} for field in _BLIND_OPTIONAL}

    def get_incompatible_content_illegal(self, obj: Decision) -> str | None:
        if obj.incompatible_content_illegal is None:
            return None
        return "Yes" if obj.incompatible_content_illegal else "No"

    def get_decided_on(self, obj: Decision) -> str:
        """The day of the decision (UTC)."""
        return obj.decided_at.astimezone(dt.UTC).date().isoformat()

    def to_representation(self, instance: Decision) -> dict[str, Any]:
        data = super().to_representation(instance)
        for field in _BLIND_OPTIONAL:
            if data[field] == "":
                data[field] = None
        redact = labels.blind_redactor(instance)
        for field in BLIND_FREE_TEXT:
            if data[field]:
                data[field] = redact(data[field])
        if data["policy"] is not None:
            data["policy"] = {
                key: redact(value) if isinstance(value, str) else value
                for key, value in data["policy"].items()
            }
        return data


class AuditItemOut(serializers.Serializer[ReviewItem]):
    """An audit item, blind: samples and planted known-answer items look the same, and no
    earlier label of a double-reviewed item is shown (the second label is independent)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=[(ItemKind.AUDIT.value, ItemKind.AUDIT.label)])
    version = serializers.IntegerField(help_text="Send it back with decide.")
    platform = serializers.CharField(source="queue.platform.slug")
    queue = serializers.CharField(source="queue.slug")
    state = serializers.ChoiceField(choices=ItemState.choices)
    priority = serializers.IntegerField()
    senior_only = serializers.BooleanField()
    due_at = serializers.DateTimeField()
    lease_expires_at = serializers.DateTimeField(allow_null=True)
    outcomes = serializers.SerializerMethodField()
    decision = BlindDecisionOut()

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Label.values)))
    def get_outcomes(self, item: ReviewItem) -> list[str]:
        """The outcomes decide accepts for this item: its labels."""
        return item_outcomes(item)


def item_out() -> PolymorphicProxySerializer:
    """The schema of an item as the API shows it: by its kind, an appeal or a blind audit."""
    return PolymorphicProxySerializer(
        component_name="ClaimedItem",
        serializers={ItemKind.APPEAL.value: ReviewItemOut, ItemKind.AUDIT.value: AuditItemOut},
        resource_type_field_name="kind",
    )


class ReviewOut(serializers.Serializer[Review]):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    reason = serializers.CharField()
    decided_at = serializers.DateTimeField()
    reversal = serializers.UUIDField(
        source="reversal.public_id",
        allow_null=True,
        help_text="The decision an overturn or modification recorded.",
    )
    clause = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_clause(self, review: Review) -> str | None:
        """An "incorrect" label's policy clause; null otherwise."""
        return review.clause or None


class ReviewResultOut(serializers.Serializer[Any]):
    review = ReviewOut()
    item = item_out()


def item_data(request: Request, item: ReviewItem) -> dict[str, Any]:
    # The services return the row they locked, without what the answer shows: one query here
    # loads the item with its queue, appeal and decision as they now are.
    if item.kind == ItemKind.AUDIT:
        # Nothing of the model version is joined in, so no serializer can show it by mistake;
        # the redactor reads its name and version on its own, only to blank them out.
        blind = ReviewItem.objects.select_related("queue__platform", "decision__policy").get(
            pk=item.pk
        )
        data = AuditItemOut(blind).data
    else:
        fresh = (
            ReviewItem.objects.select_related(
                "queue__platform",
                "appeal",
                "proposal",
                *(f"decision__{name}" for name in DECISION_RELATED),
            )
            .defer("decision__log_entry__payload")
            .get(pk=item.pk)
        )
        data = ReviewItemOut(fresh, context={"request": request}).data
    return data


def result_data(request: Request, review: Review) -> dict[str, Any]:
    return {
        "review": ReviewOut(review).data,
        "item": item_data(request, review.item),
    }


# --- input --------------------------------------------------------------------------------


class ReasonField(StrictCharField):
    """The reviewer's reason, as written: shown to the appellant (its SHA-256 is logged)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=services.MAX_REASON_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value.strip():
            self.fail("blank")
        return value


class StrictChoiceField(serializers.ChoiceField):
    """A choice given as a string (DRF compares str(value), so 1 would match "1"), refused
    with the list of choices."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or data not in self.choice_strings_to_values:
            raise ValidationError(f"Must be one of {', '.join(self.choice_strings_to_values)}.")
        return super().to_internal_value(data)


def _end_date() -> BoundedDateField:
    return BoundedDateField(
        low=MIN_END_DATE, high=MAX_DATE, required=False, allow_null=True, default=None
    )


class ClaimIn(StrictSerializer):
    queue = StrictCharField(
        required=False,
        max_length=200,
        help_text="A queue's slug (or platform/slug); any of your queues when omitted.",
    )


class EscalateIn(StrictSerializer):
    reason = ReasonField(help_text="Why a senior reviewer should decide; at most 5,000 chars.")
    version = StrictIntegerField(min_value=1, max_value=MAX_INT32)


def _add(errors: dict[str, Any], name: str, message: str) -> None:
    """Add a message to a field's errors, unless they are by position (a list's items): the
    field is refused already, and its own errors say why."""
    existing = errors.setdefault(name, [])
    if isinstance(existing, list):
        existing.append(message)


class DecideIn(StrictSerializer):
    outcome = StrictChoiceField(choices=[(o.value, o.label) for o in services.DECIDING_OUTCOMES])
    reason = ReasonField(help_text="Shown to the appellant; at most 5,000 characters.")
    version = StrictIntegerField(
        min_value=1, max_value=MAX_INT32, help_text="The item's version you read."
    )
    # The lighter measure of a modification, named as the native API's decision fields.
    decision_visibility = serializers.ListField(
        child=StrictChoiceField(choices=Visibility.choices), required=False, max_length=20
    )
    decision_visibility_other = StrictCharField(
        max_length=SHORT_TEXT, required=False, allow_null=True, default=None
    )
    end_date_visibility_restriction = _end_date()
    decision_monetary = StrictChoiceField(
        choices=Monetary.choices, required=False, allow_null=True, default=None
    )
    decision_monetary_other = StrictCharField(
        max_length=SHORT_TEXT, required=False, allow_null=True, default=None
    )
    end_date_monetary_restriction = _end_date()
    decision_provision = StrictChoiceField(
        choices=Provision.choices, required=False, allow_null=True, default=None
    )
    end_date_service_restriction = _end_date()
    decision_account = StrictChoiceField(
        choices=AccountAction.choices, required=False, allow_null=True, default=None
    )
    end_date_account_restriction = _end_date()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Field problems and the rules between fields, named together."""
        errors: dict[str, Any] = {}
        value: dict[str, Any] = {}
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            errors.update(exc.detail)  # type: ignore[arg-type]
        if isinstance(data, Mapping):
            given = [name for name in MEASURE_FIELDS if data.get(name) not in (None, [])]
            outcome = data.get("outcome")
            if outcome == Outcome.MODIFIED and not any(name in given for name in RESTRICTIONS):
                _add(
                    errors,
                    "measure",
                    "A modification names the lighter measure: at least one of "
                    + ", ".join(RESTRICTIONS)
                    + ".",
                )
            elif isinstance(outcome, str) and outcome in (Outcome.UPHELD, Outcome.OVERTURNED):
                for name in given:
                    _add(errors, name, f"Only with outcome 'modified' (this one is {outcome!r}).")
        if errors:
            raise ValidationError(errors)
        return value

    def measure(self) -> moderation_services.Measure | None:
        data = self.validated_data
        if data["outcome"] != Outcome.MODIFIED:
            return None
        fields: dict[str, Any] = {name: data.get(name) for name in MEASURE_FIELDS}
        fields["decision_visibility"] = tuple(
            Visibility(v) for v in data.get("decision_visibility") or ()
        )
        for name, choices in (
            ("decision_monetary", Monetary),
            ("decision_provision", Provision),
            ("decision_account", AccountAction),
        ):
            if fields[name] is not None:
                fields[name] = choices(fields[name])
        return moderation_services.Measure(**fields)


class LabelIn(StrictSerializer):
    """An audit item's label: was the decision right under the policy?"""

    outcome = StrictChoiceField(choices=Label.choices)
    reason = ReasonField(help_text="Why; at most 5,000 characters (its SHA-256 is logged).")
    version = StrictIntegerField(
        min_value=1, max_value=MAX_INT32, help_text="The item's version you read."
    )
    clause = StrictCharField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        max_length=labels.MAX_CLAUSE_LENGTH,
        help_text=(
            "With 'incorrect' only, and then required: the policy clause that applies instead "
            "(or why none does); at most 500 characters."
        ),
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Field problems and the rule between outcome and clause, named together."""
        errors: dict[str, Any] = {}
        value: dict[str, Any] = {}
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            errors.update(exc.detail)  # type: ignore[arg-type]
        if isinstance(data, Mapping) and "clause" not in errors:
            for message in labels.clause_errors(data.get("outcome"), data.get("clause", "")):
                _add(errors, "clause", message)
        if errors:
            raise ValidationError(errors)
        return value


class ApprovalIn(StrictSerializer):
    """A second reviewer's answer to a proposed high-impact outcome."""

    outcome = StrictChoiceField(choices=[(o, o) for o in APPROVAL_OUTCOMES])
    reason = ReasonField(help_text="Why; at most 5,000 characters (its SHA-256 is logged).")
    version = StrictIntegerField(
        min_value=1, max_value=MAX_INT32, help_text="The item's version you read."
    )


DECIDE_IN = PolymorphicProxySerializer(
    component_name="DecideAnyIn",
    serializers=[DecideIn, ApprovalIn, LabelIn],
    resource_type_field_name=None,
)
DECIDE_EXAMPLES = [
    OpenApiExample(
        "Overturn an appeal",
        value={
            "outcome": "overturned",
            "reason": "The video is a chess lesson: 'white attacks black' is about the pieces.",
            "version": 2,
        },
        request_only=True,
    ),
    OpenApiExample(
        "Approve a proposed outcome",
        value={"outcome": "approved", "reason": "Agreed: no incitement.", "version": 4},
        request_only=True,
    ),
    OpenApiExample(
        "Label an audit item incorrect",
        value={
            "outcome": "incorrect",
            "reason": "A chess commentary; nothing in it targets a group of people.",
            "clause": "none: no clause of the hateful conduct policy applies",
            "version": 2,
        },
        request_only=True,
    ),
]


# --- errors -------------------------------------------------------------------------------

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object"},
    },
}


def refused(exc: services.ReviewRefused) -> Response:
    return Response(
        {"detail": exc.message, "code": exc.code, "errors": exc.errors},
        status=REFUSAL_STATUS.get(exc.code, 400),
    )


def _invalid(detail: str, errors: Any) -> Response:
    return Response({"detail": detail, "code": "invalid", "errors": errors}, status=400)


def _responses(*codes: int) -> dict[int, OpenApiResponse]:
    described = {
        400: "Invalid input (every problem named); nothing was written",
        401: "No, an invalid or a revoked reviewer token",
        403: "Your own decision, an appeal you already reviewed, or a senior reviewer's item",
        404: "No such item among your platforms' items",
        409: "You do not hold the item's lease, it expired, or the item changed (version)",
    }
    return {code: OpenApiResponse(_ERROR_SCHEMA, description=described[code]) for code in codes}


# --- views --------------------------------------------------------------------------------


class ReviewerApi(APIView):
    authentication_classes = [ReviewerTokenAuthentication]
    permission_classes = [IsReviewer]


def _queue(request: Request, slug: str) -> ReviewQueue | None:
    """The queue a reviewer names, among their platforms' queues: "slug" or "platform/slug"."""
    queues = ReviewQueue.objects.filter(
        platform_id__in=selectors.reviewer_platform_ids(request_reviewer(request))
    ).select_related("platform")
    platform_slug, _, queue_slug = slug.rpartition("/")
    queues = queues.filter(slug=queue_slug)
    if platform_slug:
        queues = queues.filter(platform__slug=platform_slug)
    found = list(queues[:2])
    if len(found) != 1:
        problem = (
            f"Several of your platforms have a queue {queue_slug!r}: name it as platform/slug."
            if found
            else f"None of your platforms has a queue {slug!r}."
        )
        raise ValidationError({"queue": [problem]})
    return found[0]


class ClaimApi(ReviewerApi):
    @extend_schema(
        request=ClaimIn,
        responses={
            200: item_out(),
            204: OpenApiResponse(description="Nothing to claim in your queues"),
            **_responses(400, 401),
        },
        summary="Claim the next item of your queues (or of one queue)",
    )
    def post(self, request: Request) -> Response:
        data = ClaimIn(data=request.data)
        data.is_valid(raise_exception=True)
        slug = data.validated_data.get("queue")
        queue = _queue(request, slug) if slug is not None else None
        try:
            item = services.claim_next_review(reviewer=request_reviewer(request), queue=queue)
        except services.ReviewRefused as exc:
            return refused(exc)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(item_data(request, item))


_ITEM_ID = re.compile(r"[0-9]{1,19}")
ITEM_ID = OpenApiParameter("item_id", int, OpenApiParameter.PATH, description="The item's id.")


class ItemActionApi(ReviewerApi):
    def act(self, request: Request, item_id: int) -> Response:
        raise NotImplementedError

    def post(self, request: Request, item_id: str) -> Response:
        # The route takes any text, so that a malformed id gets this API's JSON 404 rather than
        # the URL resolver's page; an id no bigint holds cannot exist, and the database would
        # refuse to compare with it.
        if not _ITEM_ID.fullmatch(item_id) or int(item_id) > BIGINT_MAX:
            return Response(
                {"detail": "No such review item.", "code": "not_found", "errors": {}}, status=404
            )
        try:
            return self.act(request, int(item_id))
        except services.ReviewRefused as exc:
            return refused(exc)
        except moderation_services.ReversalRefused as exc:
            # The decision cannot be changed (already reversed elsewhere, say): not this input.
            return Response({"detail": exc.message, "code": "conflict", "errors": {}}, status=409)
        except moderation_services.DecisionsRejected as exc:
            # The lighter measure, checked as a decision's restriction fields are.
            return _invalid("The lighter measure is invalid; nothing was recorded.", exc.errors[0])


class DecideApi(ItemActionApi):
    @extend_schema(
        parameters=[ITEM_ID],
        request=DECIDE_IN,
        examples=DECIDE_EXAMPLES,
        responses={200: ReviewResultOut, **_responses(400, 401, 403, 404, 409)},
        summary="Decide an item you hold, with a reason: an appeal, a proposal, an audit label",
        description=(
            "What `outcome` may be depends on the item (its `outcomes`): an appeal is "
            "`upheld`, `overturned` or `modified` (with the lighter measure); a proposed "
            "outcome waiting for a second reviewer is `approved` or `rejected`; an audit item "
            "is labelled `correct` or `incorrect` (with the policy `clause` that applies)."
        ),
    )
    def post(self, request: Request, item_id: str) -> Response:
        return super().post(request, item_id)

    def act(self, request: Request, item_id: int) -> Response:
        reviewer = request_reviewer(request)
        # Which body is valid depends on the item; the service locks it and checks again.
        item = selectors.review_item_for(reviewer=reviewer, item_id=item_id)
        if item.kind == ItemKind.AUDIT:
            label = LabelIn(data=request.data)
            label.is_valid(raise_exception=True)
            review = labels.label_item(reviewer=reviewer, item=item_id, **label.validated_data)
        elif item.proposal_id is not None:
            answer = ApprovalIn(data=request.data)
            answer.is_valid(raise_exception=True)
            review = services.answer_proposal(
                reviewer=reviewer,
                item=item_id,
                version=answer.validated_data["version"],
                approve=answer.validated_data["outcome"] == Outcome.APPROVED,
                reason=answer.validated_data["reason"],
            )
        else:
            data = DecideIn(data=request.data)
            data.is_valid(raise_exception=True)
            review = services.resolve_appeal(
                reviewer=reviewer,
                item=item_id,
                version=data.validated_data["version"],
                outcome=data.validated_data["outcome"],
                reason=data.validated_data["reason"],
                measure=data.measure(),
            )
        return Response(result_data(request, review))


class EscalateApi(ItemActionApi):
    @extend_schema(
        parameters=[ITEM_ID],
        request=EscalateIn,
        responses={200: ReviewResultOut, **_responses(400, 401, 403, 404, 409)},
        summary="Send an item you hold to a senior reviewer, with a reason",
    )
    def post(self, request: Request, item_id: str) -> Response:
        return super().post(request, item_id)

    def act(self, request: Request, item_id: int) -> Response:
        item = selectors.review_item_for(reviewer=request_reviewer(request), item_id=item_id)
        if item.kind == ItemKind.AUDIT:
            # A label is one reviewer's own judgement; a hard case is released, not escalated.
            raise services.ReviewRefused(
                "invalid",
                "An audit item is labelled, not escalated: label it, or release it.",
                {"item": ["An audit item cannot be escalated."]},
            )
        data = EscalateIn(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.escalate_review(
            reviewer=request_reviewer(request),
            item=item_id,
            version=data.validated_data["version"],
            reason=data.validated_data["reason"],
        )
        return Response(result_data(request, review))


class HeartbeatApi(ItemActionApi):
    @extend_schema(
        parameters=[ITEM_ID],
        request=None,
        responses={200: item_out(), **_responses(401, 404, 409)},
        summary="Extend your lease on an item you hold",
    )
    def post(self, request: Request, item_id: str) -> Response:
        return super().post(request, item_id)

    def act(self, request: Request, item_id: int) -> Response:
        item = services.heartbeat_review(reviewer=request_reviewer(request), item=item_id)
        return Response(item_data(request, item))


class ReleaseApi(ItemActionApi):
    @extend_schema(
        parameters=[ITEM_ID],
        request=None,
        responses={200: item_out(), **_responses(401, 404, 409)},
        summary="Give an item you hold back to its queue, undecided",
    )
    def post(self, request: Request, item_id: str) -> Response:
        return super().post(request, item_id)

    def act(self, request: Request, item_id: int) -> Response:
        item = services.release_review(reviewer=request_reviewer(request), item=item_id)
        return Response(item_data(request, item))
