"""The reviewers' admin: review queues and reviewers, "my queue" with "claim next", the review
page of an item (decide, escalate, release; label a blind audit item; approve or reject a
proposed outcome), the queue dashboard, the quality page; appeals and audit plans read-only;
planting known-answer items; who belongs to which platform.

Claims and outcomes go through `appeals.services` (claim_next_review, resolve_appeal,
escalate_review, answer_proposal, release_review) and `appeals.labels` (label_item,
plant_known_answer), as the reviewer API's do; a refusal (`ReviewRefused`) is shown on the
page, never raised. Everything is cut to the user's platforms
(`moderation.admin.PlatformScopedAdmin`): another platform's item, appeal or queue answers 404.
The appellant's statement is private: only the platform's reviewers (and superusers) read it.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from appeals import disputes, labels, quality, selectors, services
from appeals.models import (
    Appeal,
    AppealStatus,
    AuditPlan,
    DisputeOutcome,
    ItemKind,
    ItemState,
    Label,
    Outcome,
    Review,
    Reviewer,
    ReviewItem,
    ReviewQueue,
)
from moderation import trail
from moderation.admin import PLATFORM_PATHS, PlatformScopedAdmin, request_platform_ids
from moderation.forms import RecordDecisionForm
from moderation.models import Decision, Platform, PlatformMember
from moderation.pseudonyms import pseudonym
from moderation.selectors import decision_chain
from moderation.services import Measure
from moderation.vocabulary import (
    AccountAction,
    Action,
    AutomatedDecision,
    Category,
    ContentType,
    Country,
    DecisionType,
    Ground,
    Keyword,
    Language,
    Monetary,
    Provision,
    Source,
    Visibility,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import _User

PLATFORM_PATHS.update(
    {
        Appeal: "decision__platform",
        AuditPlan: "platform",
        ReviewQueue: "platform",
        ReviewItem: "queue__platform",
        Review: "item__queue__platform",
        PlatformMember: "platform",
    }
)

# The HTTP status of a refusal, as the reviewer API answers it (docs: notes/review-services).
_REFUSAL_STATUS = {
    "invalid": 400,
    "not_found": 404,
    "not_held": 409,
    "lease_expired": 409,
    "stale_version": 409,
    "own_decision": 403,
    "already_reviewed": 403,
    "not_senior": 403,
}
_REVIEWER_ATTRIBUTE = "_ledger_reviewer"
DECISIONS_WINDOW = timedelta(days=30)


def request_reviewer(request: HttpRequest) -> Reviewer | None:
    """The signed-in user's reviewer record, if they are one (asked once per request)."""
    if not hasattr(request, _REVIEWER_ATTRIBUTE):
        user_id = request.user.pk
        reviewer = (
            None
            if user_id is None
            else Reviewer.objects.select_related("user").filter(user_id=user_id).first()
        )
        setattr(request, _REVIEWER_ATTRIBUTE, reviewer)
    found: Reviewer | None = getattr(request, _REVIEWER_ATTRIBUTE)
    return found


def _user(request: HttpRequest) -> _User:
    user = request.user
    assert user.is_authenticated  # admin views are only reached signed in
    return user


def may_read_statement(request: HttpRequest, platform_id: int) -> bool:
    """The statement is the appellant's own words, kept private: superusers and the platform's
    reviewers read it; other staff of the platform do not."""
    if request.user.is_superuser:
        return True
    ids = request_platform_ids(request)
    return request_reviewer(request) is not None and ids is not None and platform_id in ids


# --- appeals (read-only) --------------------------------------------------------------------


@admin.register(Appeal)
class AppealAdmin(PlatformScopedAdmin):
    # The statement is private and long: only on the detail page, never in the list.
    list_display = ("decision", "appellant", "status", "filed_at", "deadline_at")
    list_filter = ("status", "appellant")
    list_select_related = ("decision",)
    show_full_result_count = False
    fields = (
        "public_id",
        "decision",
        "appellant",
        "status",
        "filed_at",
        "deadline_at",
        "log_entry",
        "statement_shown",
        "review_page",
    )
    readonly_fields = fields

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Appeal | None:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # Read by `statement_shown`, which has no request of its own.
            obj._statement_visible = may_read_statement(request, obj.decision.platform_id)
        return obj

    @admin.display(description="statement")
    def statement_shown(self, obj: Appeal) -> str:
        if getattr(obj, "_statement_visible", False):
            return obj.statement
        return "Private: only the platform's reviewers read the statement."

    @admin.display(description="review")
    def review_page(self, obj: Appeal) -> str:
        item = ReviewItem.objects.filter(appeal=obj).only("pk").first()
        if item is None:
            return "—"
        return format_html(
            '<a href="{}">the review item</a>',
            reverse("admin:appeals_reviewitem_change", args=[item.pk]),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- audit plans (read-only) ----------------------------------------------------------------


def _rate(rate: object) -> str:
    """A sampling rate as a percentage, as exact as it was given (0.001 reads 0.1%)."""
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        return f"{rate * 100:.6g}%"
    return str(rate)


def strata_text(strata: object) -> str:
    """A plan's strata in the order the platform gave them, most specific first as the sampling
    rule reads them."""
    if not isinstance(strata, list):
        return "—"
    parts = []
    for stratum in strata:
        if not isinstance(stratum, dict):
            continue
        if "model" in stratum:
            what = f"model {stratum.get('model')} {stratum.get('version')}"
        elif "category" in stratum:
            category = str(stratum.get("category"))
            what = f"category {_LABELS['category'].get(category, category)}"
        else:
            what = "everything else"
        parts.append(f"{what}: {_rate(stratum.get('rate'))}")
    return "; ".join(parts) or "—"


@admin.register(AuditPlan)
class AuditPlanAdmin(PlatformScopedAdmin):
    """Set by the platform through `PUT /api/v1/audit/plan`; append-only, each plan a log
    entry with its salt (public: anyone recomputes the samples from it), so only read here."""

    list_display = ("log_index", "platform", "created_at", "strata_shown", "double_review_shown")
    list_filter = ("platform",)
    list_select_related = ("platform",)
    show_full_result_count = False
    actions = None
    fields = (
        "platform",
        "log_index",
        "created_at",
        "strata_shown",
        "double_review_shown",
        "salt",
    )
    readonly_fields = fields

    @admin.display(description="log index", ordering="log_entry")
    def log_index(self, obj: AuditPlan) -> int:
        return int(obj.log_entry_id)

    @admin.display(description="sampling rates")
    def strata_shown(self, obj: AuditPlan) -> str:
        return strata_text(obj.strata)

    @admin.display(description="labelled twice", ordering="double_review")
    def double_review_shown(self, obj: AuditPlan) -> str:
        return _rate(obj.double_review)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- who belongs to which platform ----------------------------------------------------------


class PlatformMemberForm(forms.ModelForm):
    moderator_id = forms.CharField(
        label="The platform's own id for this person",
        max_length=500,
        required=False,
        help_text="Optional: the moderator id the platform sends over the API for them. Stored "
        "only as a keyed pseudonym; it keeps them from reviewing their own decisions.",
    )

    class Meta:
        model = PlatformMember
        fields = ("user", "platform")


@admin.register(PlatformMember)
class PlatformMemberAdmin(admin.ModelAdmin):
    """Superusers only: membership is what every other page is scoped by."""

    form = PlatformMemberForm
    list_display = ("user", "platform", "knows_moderator_id", "created_at")
    list_filter = ("platform",)
    list_select_related = ("user", "platform")
    search_fields = ("user__username",)

    @admin.display(boolean=True, description="platform's id known")
    def knows_moderator_id(self, obj: PlatformMember) -> bool:
        return bool(obj.moderator_ref)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def save_model(
        self, request: HttpRequest, obj: PlatformMember, form: Any, change: bool
    ) -> None:
        moderator_id = form.cleaned_data.get("moderator_id")
        if moderator_id:
            obj.moderator_ref = pseudonym(
                platform_slug=obj.platform.slug, kind="moderator", platform_id=moderator_id
            )
        super().save_model(request, obj, form, change)
        trail.record(
            actor=_user(request),
            action="platform_member.changed" if change else "platform_member.added",
            object_type="platform_member",
            object_id=obj.pk,
            platform=obj.platform_id,
            details={"user": obj.user_id, "moderator_id_given": bool(moderator_id)},
        )

    def delete_model(self, request: HttpRequest, obj: PlatformMember) -> None:
        trail.record(
            actor=_user(request),
            action="platform_member.removed",
            object_type="platform_member",
            object_id=obj.pk,
            platform=obj.platform_id,
            details={"user": obj.user_id},
        )
        super().delete_model(request, obj)


# --- reviewers and queues -------------------------------------------------------------------


def _members_of(ids: set[int] | None) -> Q:
    """Reviewers who belong to one of the platforms (all when `ids` is None)."""
    if ids is None:
        return Q()
    return Q(
        Exists(PlatformMember.objects.filter(user_id=OuterRef("user_id"), platform_id__in=ids))
    )


@admin.register(Reviewer)
class ReviewerAdmin(PlatformScopedAdmin):
    list_display = ("user", "senior", "platforms", "created_at")
    list_filter = ("senior",)
    search_fields = ("user__username",)
    # Never the token, not even its digest.
    fields = ("user", "senior", "created_at")
    readonly_fields = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Reviewer]:
        # A reviewer belongs to platforms through their user's memberships; Exists rather than
        # a join so that a member of two of the staff's platforms is listed once.
        return (
            Reviewer.objects.filter(_members_of(self.platform_ids(request)))
            .select_related("user")
            .prefetch_related("user__platform_memberships__platform")
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The person behind a reviewer record never changes: their reviews name them.
        return ("created_at",) if obj is None else ("user", "created_at")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user" and formfield is not None:
            ids = self.platform_ids(request)
            users = formfield.queryset.filter(is_active=True, reviewer__isnull=True)
            if ids is not None:
                users = users.filter(platform_memberships__platform_id__in=ids).distinct()
            formfield.queryset = users
        return formfield

    @admin.display(description="platforms")
    def platforms(self, obj: Reviewer) -> str:
        return ", ".join(m.platform.slug for m in obj.user.platform_memberships.all()) or "—"

    def save_model(self, request: HttpRequest, obj: Reviewer, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        trail.record(
            actor=_user(request),
            action="reviewer.changed" if change else "reviewer.created",
            object_type="reviewer",
            object_id=obj.pk,
            details={"user": obj.user_id, "senior": obj.senior},
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _choices_field(label: str, choices: Iterable[tuple[str, str]], help_text: str) -> Any:
    return forms.TypedMultipleChoiceField(
        label=label,
        choices=list(choices),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=help_text + " None chosen: any.",
    )


class ReviewQueueForm(forms.ModelForm):
    """The routing rules as choices of the vocabulary, stored as the JSON lists they are."""

    actions = _choices_field(
        "Actions", Action.choices, "Appeals against decisions with one of these actions."
    )
    categories = _choices_field(
        "Categories", Category.choices, "Appeals against decisions in one of these categories."
    )
    languages = _choices_field(
        "Content languages", Language.choices, "Appeals about content in one of these languages."
    )
    territories = _choices_field(
        "Territories", Country.choices, "Appeals against decisions applying in any of these."
    )

    class Meta:
        model = ReviewQueue
        fields = (
            "platform",
            "slug",
            "name",
            "is_default",
            "position",
            "actions",
            "categories",
            "languages",
            "territories",
            "deadline_hours",
            "escalate_before_hours",
            "reviewers",
        )
        help_texts = {
            "position": "Queues are tried in this order; the first whose rules all match takes "
            "the appeal, the default queue the rest.",
            "deadline_hours": "The time an appeal has from filing to its decision.",
            "escalate_before_hours": "Undecided appeals this close to the deadline go to senior "
            "reviewers by themselves.",
            "reviewers": "The group who works this queue; none chosen: every reviewer of the "
            "platform.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        platform: Platform | None = cleaned.get("platform")
        reviewers = cleaned.get("reviewers") or []
        if platform is not None:
            members = set(
                PlatformMember.objects.filter(platform=platform).values_list("user_id", flat=True)
            )
            strangers = [str(r) for r in reviewers if r.user_id not in members]
            if strangers:
                self.add_error(
                    "reviewers",
                    f"Not reviewers of {platform.slug}: {', '.join(strangers)}.",
                )
        if self.instance.audit:
            # The audit queue holds audit items only (appeals.audit): it is never the default
            # (a database constraint, which would otherwise answer 500) and routes no appeal.
            if cleaned.get("is_default"):
                self.add_error("is_default", "The audit queue cannot be the default queue.")
            for name in ("actions", "categories", "languages", "territories"):
                if cleaned.get(name):
                    self.add_error(name, "The audit queue takes no appeals: it has no rules.")
        return cleaned


@admin.register(ReviewQueue)
class ReviewQueueAdmin(PlatformScopedAdmin):
    form = ReviewQueueForm
    list_display = (
        "name",
        "platform",
        "slug",
        "is_default",
        "position",
        "rules",
        "deadline_hours",
        "group",
        "waiting",
    )
    list_filter = ("platform", "is_default")
    list_select_related = ("platform",)
    search_fields = ("slug", "name")
    filter_horizontal = ("reviewers",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewQueue]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                group_size=Count("reviewers", distinct=True),
                waiting_count=Count("items", filter=~Q(items__state=ItemState.DONE), distinct=True),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Items and their deadlines belong to the queue's platform.
        return () if obj is None else ("platform",)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "reviewers" and formfield is not None:
            formfield.queryset = Reviewer.objects.filter(
                _members_of(self.platform_ids(request))
            ).select_related("user")
        return formfield

    @admin.display(description="routing rules")
    def rules(self, obj: ReviewQueue) -> str:
        parts = [
            f"{name}: {', '.join(values)}"
            for name, values in (
                ("actions", obj.actions),
                ("categories", obj.categories),
                ("languages", obj.languages),
                ("territories", obj.territories),
            )
            if values
        ]
        if obj.audit:
            return "audit items only"
        return "; ".join(parts) or ("everything else" if obj.is_default else "everything")

    @admin.display(description="reviewers", ordering="group_size")
    def group(self, obj: Any) -> str:
        return str(obj.group_size) if obj.group_size else "all of the platform"

    @admin.display(description="undecided", ordering="waiting_count")
    def waiting(self, obj: Any) -> int:
        return int(obj.waiting_count)

    def save_model(self, request: HttpRequest, obj: ReviewQueue, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        trail.record(
            actor=_user(request),
            action="review_queue.changed" if change else "review_queue.created",
            object_type="review_queue",
            object_id=obj.pk,
            platform=obj.platform_id,
            details={"fields": sorted(form.changed_data)},
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Items and their history point at the queue.
        return False


# --- review work ----------------------------------------------------------------------------

_MEASURE_FIELDS = tuple(Measure.__slots__)


def _measure_field(name: str) -> forms.Field:
    """The manual-decision form's field for a restriction, optional here; dates as the
    browser's own date input (no admin JavaScript needed)."""
    field = copy.deepcopy(RecordDecisionForm.base_fields[name])
    field.required = False
    if isinstance(field, forms.DateField):
        field.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    return field


class DecideForm(forms.Form):
    """Uphold, overturn or modify to a lighter measure, always with a reason the appellant
    reads; `version` is the item's version the reviewer read."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        choices=[
            (Outcome.UPHELD.value, "Uphold: the decision stands"),
            (Outcome.OVERTURNED.value, "Overturn: the decision was wrong and is reversed"),
            (Outcome.MODIFIED.value, "Modify: replace it with a lighter measure (below)"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="The appellant reads this. For an overturn or modification it is also the "
        "public statement of the new decision.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in _MEASURE_FIELDS:
            self.fields[name] = _measure_field(name)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("outcome") == Outcome.MODIFIED and self.measure() is None:
            self.add_error(
                None,
                "A modification needs the lighter measure that replaces the decision: choose "
                "at least one visibility, monetary, service or account restriction.",
            )
        return cleaned

    def measure(self) -> Measure | None:
        data = getattr(self, "cleaned_data", {})

        def value(name: str) -> Any:
            return data.get(name) or None

        measure = Measure(
            decision_visibility=tuple(Visibility(v) for v in data.get("decision_visibility", ())),
            decision_visibility_other=value("decision_visibility_other"),
            end_date_visibility_restriction=value("end_date_visibility_restriction"),
            decision_monetary=Monetary(data["decision_monetary"])
            if value("decision_monetary")
            else None,
            decision_monetary_other=value("decision_monetary_other"),
            end_date_monetary_restriction=value("end_date_monetary_restriction"),
            decision_provision=Provision(data["decision_provision"])
            if value("decision_provision")
            else None,
            end_date_service_restriction=value("end_date_service_restriction"),
            decision_account=AccountAction(data["decision_account"])
            if value("decision_account")
            else None,
            end_date_account_restriction=value("end_date_account_restriction"),
        )
        restricts = (
            measure.decision_visibility
            or measure.decision_monetary
            or measure.decision_provision
            or measure.decision_account
        )
        return measure if restricts else None

    def measure_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in _MEASURE_FIELDS]


class EscalateForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Why a senior reviewer should decide",
        max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


MAX_CLAUSE_LENGTH = 500


class LabelForm(forms.Form):
    """An audit label: was the decision right under the policy? With a reason, and for
    "incorrect" the policy clause that applies instead (appeals.labels.label_item checks)."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        choices=[
            (Label.CORRECT.value, "Correct: the policy supports this decision"),
            (Label.INCORRECT.value, "Incorrect: the policy does not support it"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Why the decision is right or wrong under the policy. Kept internal: the "
        "public log holds only its SHA-256.",
    )
    clause = forms.CharField(
        label="Policy clause that applies",
        max_length=MAX_CLAUSE_LENGTH,
        required=False,
        strip=False,
        help_text='Only for "incorrect": the clause the content falls under instead, or '
        '"none" when no rule applies to it.',
    )


class AnswerForm(forms.Form):
    """A second reviewer's answer to a proposed high-impact outcome."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        choices=[
            (Outcome.APPROVED.value, "Approve: the proposed outcome takes effect"),
            (Outcome.REJECTED.value, "Reject: a senior reviewer decides the appeal anew"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why you approve or reject the proposal.",
    )


class PlantForm(forms.Form):
    """A known-answer item: a decision whose right label the moderator knows, put in a queue
    where reviewers cannot tell it from a blind sample."""

    decision = forms.CharField(
        label="Decision",
        max_length=500,
        help_text="The decision's id (a UUID) or the platform's own decision id (puid).",
    )
    answer = forms.ChoiceField(
        label="The right label",
        choices=Label.choices,
        widget=forms.RadioSelect,
    )
    queue = forms.ModelChoiceField(
        label="Queue",
        queryset=ReviewQueue.objects.select_related("platform"),
        required=False,
        empty_label="The platform's audit queue",
        help_text="Any queue of the decision's platform.",
    )

    def __init__(self, *args: Any, platform_ids: set[int] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.platform_ids = platform_ids
        if platform_ids is not None:
            field = self.fields["queue"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = ReviewQueue.objects.select_related("platform").filter(
                platform_id__in=platform_ids
            )

    def clean_decision(self) -> Decision:
        """The decision among the user's platforms' ones: another platform's reads as unknown,
        exactly like a decision that does not exist."""
        term = self.cleaned_data["decision"].strip()
        decisions = Decision.objects.select_related("platform")
        if self.platform_ids is not None:
            decisions = decisions.filter(platform_id__in=self.platform_ids)
        try:
            found = list(decisions.filter(public_id=uuid.UUID(term))[:2])
        except ValueError:
            found = list(decisions.filter(puid=term)[:2])
        if not found:
            raise forms.ValidationError("No decision of your platforms has this id.")
        if len(found) > 1:
            raise forms.ValidationError(
                "Two of your platforms have a decision with this id: give the decision's UUID."
            )
        return found[0]


def _put_refusal(form: forms.Form, refused: services.ReviewRefused) -> None:
    """The service's refusal on the form: each named problem on its field, the rest on top."""
    for field, problems in refused.errors.items():
        target = field if field in form.fields and field != "version" else None
        for problem in problems:
            form.add_error(target, problem if target else f"{field}: {problem}")
    if not refused.errors:
        form.add_error(None, refused.message)


_KEYWORDS = dict(Keyword.choices)
_CONTENT_TYPES = dict(ContentType.choices)
_LABELS = {
    "visibility": dict(Visibility.choices),
    "action": dict(Action.choices),
    "type": dict(DecisionType.choices),
    "source": dict(Source.choices),
    "automation": dict(AutomatedDecision.choices),
    "ground": dict(Ground.choices),
    "category": dict(Category.choices),
}


def plain_summary(decision: Decision) -> list[tuple[str, str]]:
    """What the decision did, why and how, in words a reviewer reads at a glance."""
    what = _LABELS["action"].get(decision.action, decision.action)
    restrictions = [_LABELS["visibility"].get(v, v) for v in decision.decision_visibility]
    for label, value in (
        ("monetary", decision.get_decision_monetary_display()),
        ("service", decision.get_decision_provision_display()),
        ("account", decision.get_decision_account_display()),
    ):
        if value:
            restrictions.append(f"{label}: {value}")
    about = "content" if decision.subject_content else "account"
    if decision.automated_decision == AutomatedDecision.NOT_AUTOMATED:
        how = "Decided by a person"
    else:
        how = _LABELS["automation"].get(decision.automated_decision, "")
    if decision.model_version_id is not None:
        how += f"; detected by model {decision.model_version}"
        if decision.score is not None:
            how += f" (score {decision.score:.2f})"
    elif decision.automated_detection:
        how += "; detected automatically"
    rows = [
        ("What was decided", f"{what} of the {about}: {', '.join(restrictions) or '—'}"),
        (
            "Why",
            f"{_LABELS['ground'].get(decision.decision_ground, decision.decision_ground)}; "
            f"{_LABELS['category'].get(decision.category, decision.category)}"
            + (f"; {decision.policy}" if decision.policy_id else ""),
        ),
        (
            "Rule relied upon",
            decision.incompatible_content_ground or decision.illegal_content_legal_ground or "—",
        ),
        (
            "Explanation",
            decision.incompatible_content_explanation
            or decision.illegal_content_explanation
            or "—",
        ),
        ("Facts", decision.decision_facts),
        ("How", f"{how}; source: {_LABELS['source'].get(decision.source_type, '')}"),
        ("Where", ", ".join(decision.territorial_scope) or "everywhere"),
        ("Decided", timezone.localtime(decision.decided_at).strftime("%Y-%m-%d %H:%M %Z")),
    ]
    return rows


def identifying_values(decision: Decision) -> list[str]:
    """What an audit reviewer must not see of a decision, longest first: what the reviewer API
    blanks (`labels.blind_terms`: the model's name and version, its score and threshold as
    text is likely to print them), and the decision's own ids and notice token, which lead to
    its record and so to all of that. A one-character id is left out, as `blind_terms` leaves
    out one-character versions: it would blank every such digit of the text."""
    values = labels.blind_terms(decision)
    values |= {decision.puid, str(decision.public_id), decision.public_id.hex}
    values.add(decision.notice_token)
    return sorted((v for v in values if len(v.strip()) > 1), key=len, reverse=True)


def withhold(text: str, values: list[str]) -> str:
    """`text` with every whole occurrence of `values` (case-insensitive) redacted.

    "Whole" so that a version "v1" is withheld in "model v1." but not taken out of "v10", and a
    score "0.93" in "scored 0.93" but not inside "0.935" or "10.93".
    """
    if not text or not values:
        return text
    alternatives = "|".join(re.escape(value) for value in values)
    pattern = re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w]|\.\d)", re.IGNORECASE)
    return pattern.sub(labels.REDACTED, text)


def blind_summary(decision: Decision, hidden: list[str]) -> list[tuple[str, str]]:
    """What an audit reviewer reads: what was decided, under which ground and category, the
    rule, the explanation, the facts and the kind of content, and nothing that names or leads
    to the decision's record or to the model behind it (appeals.labels: blind review).

    Not shown: the model, version, score and threshold; the decision's ids and dates; its
    history; how automated it was and who reported it (a planted known-answer item may be a
    person's decision, and must look like any sample). The platform's own free text is
    searched for the identifying values (`hidden`, from `identifying_values`), which are
    withheld.
    """

    def blind(text: str) -> str:
        return withhold(text, hidden) or "—"

    what = _LABELS["action"].get(decision.action, decision.action)
    restrictions = [_LABELS["visibility"].get(v, v) for v in decision.decision_visibility]
    for label, value in (
        ("monetary", decision.get_decision_monetary_display()),
        ("service", decision.get_decision_provision_display()),
        ("account", decision.get_decision_account_display()),
    ):
        if value:
            restrictions.append(f"{label}: {value}")
    about = "content" if decision.subject_content else "account"
    keywords = [_KEYWORDS.get(k, k) for k in decision.category_specification]
    if decision.category_specification_other:
        keywords.append(blind(decision.category_specification_other))
    content = [_CONTENT_TYPES.get(t, t) for t in decision.content_type]
    if decision.content_type_other:
        content.append(blind(decision.content_type_other))
    return [
        ("What was decided", f"{what} of the {about}: {', '.join(restrictions) or '—'}"),
        ("Ground", _LABELS["ground"].get(decision.decision_ground, decision.decision_ground)),
        (
            "Category",
            _LABELS["category"].get(decision.category, decision.category)
            + (f" ({', '.join(keywords)})" if keywords else ""),
        ),
        (
            "Rule relied upon",
            blind(decision.incompatible_content_ground or decision.illegal_content_legal_ground),
        ),
        (
            "Explanation",
            blind(
                decision.incompatible_content_explanation or decision.illegal_content_explanation
            ),
        ),
        ("Facts", blind(decision.decision_facts)),
        (
            "Content",
            ", ".join(content or ["—"])
            + (f"; language {decision.content_language}" if decision.content_language else ""),
        ),
        ("Where", ", ".join(decision.territorial_scope) or "everywhere"),
    ]


# --- the quality page -----------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "—"
    return f"{low * 100:.1f}% to {high * 100:.1f}%"


def _policy_name(key: str | None, version: int | None, title: str | None) -> str:
    if key is None:
        return "No policy named"
    return f"{title} ({key} v{version})"


def _precision_row(name: str, platform: str, cell: quality.Precision) -> dict[str, Any]:
    return {
        "name": name,
        "platform": platform,
        "reviewed": cell.reviewed,
        "correct": cell.correct,
        "incorrect": cell.incorrect,
        "precision": _percent(cell.precision),
        "interval": _interval(cell.low, cell.high),
        "enough": cell.enough,
        "flagged": cell.flagged,
    }


def _agreement_row(name: str, platform: str, cell: quality.Agreement) -> dict[str, Any]:
    return {
        "name": name,
        "platform": platform,
        "pairs": cell.pairs,
        "agreed": cell.agreed,
        "kappa": "—" if cell.kappa is None else f"{cell.kappa:.2f}",
    }


def quality_context(platform_ids: set[int] | None) -> dict[str, Any]:
    """The quality page's tables, each row ready to print, for the given platforms (all when
    None): precision per model version (flagged below LEDGER_MIN_PRECISION), per policy,
    language and territory; Cohen's kappa per queue and policy; reviewers; disputes."""
    models = [
        {
            **_precision_row(f"{row.model} {row.version}", row.platform, row.audit),
            "model_version_id": row.model_version_id,
        }
        for row in quality.precision_by_model_version(platform_ids)
    ]
    senior_level = selectors.overturned_at_senior_level(platform_ids)
    reviewers = []
    for row in quality.reviewer_quality(platform_ids):
        senior = senior_level.get(row.reviewer_id)
        reviewers.append(
            {
                "name": row.username,
                "known_answers": row.known_answers,
                "right": row.right,
                "accuracy": _percent(row.accuracy),
                "interval": _interval(row.low, row.high),
                "audit_labels": row.audit_labels,
                "appeal_decisions": row.appeal_decisions,
                "proposals_rejected": 0 if senior is None else senior.rejected,
                "overturned": 0 if senior is None else senior.overturned,
            }
        )
    counts = disputes.dispute_counts(platform_ids)
    return {
        "min_precision": _percent(settings.LEDGER_MIN_PRECISION),
        "min_cell": settings.LEDGER_MIN_CELL,
        "models": models,
        "flagged_models": [row for row in models if row["flagged"]],
        "breakdowns": [
            (
                "Per policy",
                "Policy",
                "quality-policies",
                [
                    _precision_row(_policy_name(*cell.key[1:]), cell.key[0], cell)
                    for cell in quality.precision_by_policy(platform_ids)
                ],
            ),
            (
                "Per content language",
                "Language",
                "quality-languages",
                [
                    _precision_row(cell.key[1] or "Not given", cell.key[0], cell)
                    for cell in quality.precision_by_language(platform_ids)
                ],
            ),
            (
                "Per territory",
                "Territory",
                "quality-territories",
                [
                    _precision_row(cell.key[1], cell.key[0], cell)
                    for cell in quality.precision_by_territory(platform_ids)
                ],
            ),
        ],
        "agreements": [
            (
                "Per queue",
                "Queue",
                "quality-kappa-queues",
                [
                    _agreement_row(f"{cell.key[2]} ({cell.key[1]})", cell.key[0], cell)
                    for cell in quality.kappa_by_queue(platform_ids)
                ],
            ),
            (
                "Per policy",
                "Policy",
                "quality-kappa-policies",
                [
                    _agreement_row(_policy_name(*cell.key[1:]), cell.key[0], cell)
                    for cell in quality.kappa_by_policy(platform_ids)
                ],
            ),
        ],
        "reviewers": reviewers,
        "disputes": counts,
        "dispute_outcomes": [
            (label, counts["decided"].get(value, 0)) for value, label in DisputeOutcome.choices
        ],
    }


@admin.register(ReviewItem)
class ReviewItemAdmin(PlatformScopedAdmin):
    """Review work: the list of items, "my queue", the review page of one item (its change
    page: an appeal to decide, a proposal to approve or reject, or a blind audit item to
    label), the dashboard of the queues, planting known-answer items, and the quality page."""

    list_display = (
        "id",
        "kind",
        "queue",
        "state",
        "priority",
        "appeal_status",
        "created_at",
        "due_at",
        "overdue",
        "holder",
        "senior_only",
    )
    # Never `plan`, `known_answer` or `labels_needed`: reviewers read this list too, and a
    # planted item must look like any sample, a double-reviewed one like any other.
    list_filter = ("kind", "state", "queue", "senior_only")
    list_select_related = ("queue__platform", "appeal", "claimed_by__user")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None
    change_list_template = "admin/appeals/reviewitem/change_list.html"

    # --- permissions: reviewers work here without model permissions of their own

    def _is_reviewer(self, request: HttpRequest) -> bool:
        return request_reviewer(request) is not None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_reviewer(request) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_reviewer(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def may_see_quality(self, request: HttpRequest) -> bool:
        """The platform's moderators (the model permission to view review items), not every
        reviewer: the page names reviewers and their accuracy on known answers."""
        return super().has_view_permission(request)

    def may_plant(self, request: HttpRequest) -> bool:
        """Moderators allowed to add review items. A reviewer who planted an item knows its
        answer; the label services keep them off it, and this keeps plain reviewers off
        planting."""
        return bool(request.user.has_perm(f"{self.opts.app_label}.add_{self.opts.model_name}"))

    # --- list columns

    @admin.display(description="appeal", ordering="appeal__status")
    def appeal_status(self, obj: ReviewItem) -> str:
        return obj.appeal.get_status_display() if obj.appeal else "—"

    @admin.display(description="past deadline", boolean=True)
    def overdue(self, obj: ReviewItem) -> bool:
        return obj.state != ItemState.DONE and obj.due_at < timezone.now()

    @admin.display(description="held by", ordering="claimed_by__user__username")
    def holder(self, obj: ReviewItem) -> str:
        return obj.claimed_by.user.get_username() if obj.claimed_by else "—"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            "reviewer": request_reviewer(request),
            "may_see_quality": self.may_see_quality(request),
            "may_plant": self.may_plant(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    # --- pages

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        own = [
            path("my-queue/", wrap(self.my_queue_view), name="appeals_reviewitem_my_queue"),
            path("claim-next/", wrap(self.claim_next_view), name="appeals_reviewitem_claim_next"),
            path("dashboard/", wrap(self.dashboard_view), name="appeals_reviewitem_dashboard"),
            path("quality/", wrap(self.quality_view), name="appeals_reviewitem_quality"),
            path("plant/", wrap(self.plant_view), name="appeals_reviewitem_plant"),
        ]
        return own + super().get_urls()

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "reviewer": request_reviewer(request),
            **extra,
        }

    def my_queue_view(self, request: HttpRequest) -> HttpResponse:
        """What the reviewer holds, then what they may claim, in claim order."""
        reviewer = request_reviewer(request)
        if reviewer is None:
            raise PermissionDenied
        now = timezone.now()
        related = ("queue__platform", "appeal", "decision")
        held = list(
            ReviewItem.objects.filter(claimed_by=reviewer, state=ItemState.CLAIMED)
            .select_related(*related)
            .order_by("lease_expires_at")
        )
        claimable = list(
            selectors.claimable_items(reviewer=reviewer, queue=None, now=now).select_related(
                *related
            )[:50]
        )
        context = self._context(
            request,
            "My queue",
            held=held,
            claimable=claimable,
            now=now,
            may_see_quality=self.may_see_quality(request),
        )
        return TemplateResponse(request, "admin/appeals/reviewitem/my_queue.html", context)

    def claim_next_view(self, request: HttpRequest) -> HttpResponse:
        reviewer = request_reviewer(request)
        if reviewer is None:
            raise PermissionDenied
        my_queue = reverse("admin:appeals_reviewitem_my_queue")
        if request.method != "POST":
            return HttpResponseRedirect(my_queue)
        item = services.claim_next_review(reviewer=reviewer)
        if item is None:
            messages.info(request, "Nothing to claim: no appeal or audit item waits for you.")
            return HttpResponseRedirect(my_queue)
        assert item.lease_expires_at is not None
        work = "label it" if item.kind == ItemKind.AUDIT else "decide it"
        messages.success(
            request,
            f"You hold item {item.pk} until "
            f"{timezone.localtime(item.lease_expires_at):%H:%M:%S}; {work} or release it.",
        )
        return HttpResponseRedirect(reverse("admin:appeals_reviewitem_change", args=[item.pk]))

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        ids = self.platform_ids(request)
        stats = selectors.queue_stats(platform_ids=ids, now=now)
        per_reviewer: dict[str, dict[str, int]] = {}
        for row in selectors.decisions_per_reviewer(platform_ids=ids, since=now - DECISIONS_WINDOW):
            counts = per_reviewer.setdefault(row["reviewer__user__username"], {})
            counts[row["outcome"]] = row["n"]
        outcomes = [Outcome.UPHELD, Outcome.OVERTURNED, Outcome.MODIFIED, Outcome.ESCALATED]
        reviewer_rows = [
            {
                "name": name,
                "counts": [counts.get(o.value, 0) for o in outcomes],
                "decided": sum(counts.get(o.value, 0) for o in outcomes[:3]),
            }
            for name, counts in sorted(per_reviewer.items())
        ]
        context = self._context(
            request,
            "Review queues",
            stats=stats,
            reviewer_rows=reviewer_rows,
            outcome_labels=[o.label for o in outcomes],
            now=now,
            window_days=DECISIONS_WINDOW.days,
            may_see_quality=self.may_see_quality(request),
        )
        return TemplateResponse(request, "admin/appeals/reviewitem/dashboard.html", context)

    def quality_view(self, request: HttpRequest) -> HttpResponse:
        """How often each model version and each reviewer is right (appeals.quality), and the
        platform's out-of-court disputes (appeals.disputes), for the user's platforms."""
        if not self.may_see_quality(request):
            raise PermissionDenied
        context = self._context(
            request,
            "Quality: audits, agreement, reviewers",
            **quality_context(self.platform_ids(request)),
        )
        return TemplateResponse(request, "admin/appeals/reviewitem/quality.html", context)

    def plant_view(self, request: HttpRequest) -> HttpResponse:
        """Plant a known-answer item (appeals.labels.plant_known_answer)."""
        if not self.may_plant(request):
            raise PermissionDenied
        ids = self.platform_ids(request)
        status = 200
        if request.method == "POST":
            form = PlantForm(request.POST, platform_ids=ids)
            if form.is_valid():
                try:
                    item = labels.plant_known_answer(
                        decision=form.cleaned_data["decision"],
                        answer=form.cleaned_data["answer"],
                        queue=form.cleaned_data["queue"],
                        actor=_user(request),
                    )
                except labels.PlantRefused as refused:
                    for field, problems in refused.errors.items():
                        target = field if field in form.fields else None
                        for problem in problems:
                            form.add_error(target, problem)
                else:
                    messages.success(
                        request,
                        f"Planted item {item.pk} in {item.queue.name}: reviewers see it as any "
                        "other audit item, and their labels count towards their accuracy.",
                    )
                    return HttpResponseRedirect(reverse("admin:appeals_reviewitem_plant"))
            status = 400
        else:
            form = PlantForm(
                initial={"decision": request.GET.get("decision", "")}, platform_ids=ids
            )
        context = self._context(request, "Plant a known-answer item", form=form)
        return TemplateResponse(
            request, "admin/appeals/reviewitem/plant.html", context, status=status
        )

    # --- the review page

    def _form_classes(self, item: ReviewItem) -> dict[str, type[forms.Form]]:
        """The forms the item's page offers, by the `action` each posts."""
        if item.kind == ItemKind.AUDIT:
            return {"label": LabelForm}
        if item.proposal_id is not None:
            return {"answer": AnswerForm}
        return {"decide": DecideForm, "escalate": EscalateForm}

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The review page: for an appeal, the decision, its history and the statement, and the
        forms to decide or escalate; for a proposal, the proposed outcome to approve or reject;
        for an audit item, the decision blind and the form to label it; release and keep
        holding for the reviewer who holds the item."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        item = self._item(request, object_id)
        reviewer = request_reviewer(request)
        bound: dict[str, forms.Form] = {}
        status = 200
        if request.method == "POST":
            if reviewer is None:
                raise PermissionDenied
            action = request.POST.get("action", "")
            form_classes = self._form_classes(item)
            try:
                if action in form_classes:
                    form = bound[action] = form_classes[action](request.POST)
                    if form.is_valid():
                        return self._act(request, action, reviewer, item, form)
                    status = 400
                elif action == "release":
                    services.release_review(reviewer=reviewer, item=item)
                    messages.success(request, f"Released item {item.pk} back to its queue.")
                    return HttpResponseRedirect(reverse("admin:appeals_reviewitem_my_queue"))
                elif action == "heartbeat":
                    held = services.heartbeat_review(reviewer=reviewer, item=item)
                    assert held.lease_expires_at is not None
                    messages.success(
                        request,
                        "You hold the item until "
                        f"{timezone.localtime(held.lease_expires_at):%H:%M:%S}.",
                    )
                    return HttpResponseRedirect(
                        reverse("admin:appeals_reviewitem_change", args=[item.pk])
                    )
                else:
                    messages.error(request, "Unknown action.")
                    status = 400
            except services.ReviewRefused as refused:
                messages.error(request, refused.message)
                for form in bound.values():
                    _put_refusal(form, refused)
                status = _REFUSAL_STATUS.get(refused.code, 400)
            # The page shows the item as it is now; the forms keep what was typed, with the
            # version now shown, so an outcome is only sent again after a fresh read.
            item = self._item(request, object_id)
            for form in bound.values():
                data = request.POST.copy()
                data["version"] = str(item.version)
                form.data = data
        if item.kind == ItemKind.AUDIT:
            response = self._audit_page(request, item, reviewer, bound.get("label"))
        else:
            response = self._review_page(request, item, reviewer, bound)
        response.status_code = status
        return response

    def _item(self, request: HttpRequest, object_id: str) -> ReviewItem:
        try:
            pk = int(unquote(object_id))
        except ValueError as exc:
            raise Http404("No such review item.") from exc
        item = (
            self.get_queryset(request)
            .select_related(
                "queue__platform",
                "appeal",
                "claimed_by__user",
                "decision__platform",
                "decision__policy",
                "decision__model_version__model",
                "proposal",
            )
            .filter(pk=pk)
            .first()
        )
        if item is None:
            raise Http404("No such review item.")
        return item

    def _act(
        self,
        request: HttpRequest,
        action: str,
        reviewer: Reviewer,
        item: ReviewItem,
        form: forms.Form,
    ) -> HttpResponse:
        if action == "decide":
            assert isinstance(form, DecideForm)
            return self._decide(request, reviewer, item, form)
        if action == "escalate":
            assert isinstance(form, EscalateForm)
            return self._escalate(request, reviewer, item, form)
        if action == "label":
            return self._label(request, reviewer, item, form)
        return self._answer(request, reviewer, item, form)

    def _decide(
        self, request: HttpRequest, reviewer: Reviewer, item: ReviewItem, form: DecideForm
    ) -> HttpResponse:
        outcome = form.cleaned_data["outcome"]
        review = services.resolve_appeal(
            reviewer=reviewer,
            item=item,
            version=form.cleaned_data["version"],
            outcome=outcome,
            reason=form.cleaned_data["reason"],
            measure=form.measure() if outcome == Outcome.MODIFIED else None,
        )
        if review.needs_approval:
            messages.success(
                request,
                f"Proposed: {Outcome(outcome).label.lower()}. This outcome has a high impact: it "
                "takes effect once a second reviewer approves it; the appellant is told it waits.",
            )
            return HttpResponseRedirect(reverse("admin:appeals_reviewitem_my_queue"))
        label = {
            Outcome.UPHELD: "upheld",
            Outcome.OVERTURNED: "overturned: the reversal is recorded",
            Outcome.MODIFIED: "modified: the lighter measure is recorded",
        }[Outcome(outcome)]
        messages.success(
            request, f"Appeal {label}. The appellant sees the outcome and your reason."
        )
        return HttpResponseRedirect(reverse("admin:appeals_reviewitem_my_queue"))

    def _escalate(
        self, request: HttpRequest, reviewer: Reviewer, item: ReviewItem, form: EscalateForm
    ) -> HttpResponse:
        services.escalate_review(
            reviewer=reviewer,
            item=item,
            version=form.cleaned_data["version"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, f"Item {item.pk} goes to a senior reviewer.")
        return HttpResponseRedirect(reverse("admin:appeals_reviewitem_my_queue"))

    def _label(
        self, request: HttpRequest, reviewer: Reviewer, item: ReviewItem, form: forms.Form
    ) -> HttpResponse:
        outcome = form.cleaned_data["outcome"]
        labels.label_item(
            reviewer=reviewer,
            item=item,
            version=form.cleaned_data["version"],
            outcome=outcome,
            reason=form.cleaned_data["reason"],
            clause=form.cleaned_data["clause"],
        )
        # The same words for every audit item: nothing tells a planted one from a sample, or
        # whether the label matched a known answer.
        messages.success(request, f"Labelled item {item.pk} {Label(outcome).label.lower()}.")
        return HttpResponseRedirect(reverse("admin:appeals_reviewitem_my_queue"))

    def _answer(
        self, request: HttpRequest, reviewer: Reviewer, item: ReviewItem, form: forms.Form
    ) -> HttpResponse:
        approve = form.cleaned_data["outcome"] == Outcome.APPROVED
        services.answer_proposal(
            reviewer=reviewer,
            item=item,
            version=form.cleaned_data["version"],
            approve=approve,
            reason=form.cleaned_data["reason"],
        )
        if approve:
            messages.success(request, "Approved: the proposed outcome takes effect now.")
        else:
            messages.success(
                request, "Rejected: the appeal goes back to its queue for a senior reviewer."
            )
        return HttpResponseRedirect(reverse("admin:appeals_reviewitem_my_queue"))

    def _holds(self, item: ReviewItem, reviewer: Reviewer | None, now: Any) -> bool:
        return (
            reviewer is not None
            and item.state == ItemState.CLAIMED
            and item.claimed_by_id == reviewer.pk
            and item.lease_expires_at is not None
            and item.lease_expires_at > now
        )

    def _audit_page(
        self,
        request: HttpRequest,
        item: ReviewItem,
        reviewer: Reviewer | None,
        label_form: forms.Form | None,
    ) -> TemplateResponse:
        """The blind page: built from `blind_summary` and the policy only. The template gets no
        decision, no earlier label (independent double review) and nothing of the item that
        tells a planted known answer from a sample (`plan`, `known_answer`, `planted_by`,
        `labels_needed`)."""
        now = timezone.now()
        decision = item.decision
        policy = decision.policy
        hidden = identifying_values(decision)
        context = self._context(
            request,
            f"Audit item {item.pk}",
            item=item,
            summary=blind_summary(decision, hidden),
            policy=None
            if policy is None
            else {
                "title": withhold(policy.title, hidden),
                "clause": withhold(policy.clause, hidden),
                "summary": withhold(policy.summary, hidden),
                # A policy's address may name the classifier that enforces it (".../hate-speech"):
                # then it is shown redacted, as text, never as a link.
                "url": policy.url if withhold(policy.url, hidden) == policy.url else "",
                "url_text": withhold(policy.url, hidden),
            },
            holds=self._holds(item, reviewer, now),
            done=item.state == ItemState.DONE,
            label_form=label_form or LabelForm(initial={"version": item.version}),
            now=now,
        )
        return TemplateResponse(request, "admin/appeals/reviewitem/audit_review.html", context)

    def _review_page(
        self,
        request: HttpRequest,
        item: ReviewItem,
        reviewer: Reviewer | None,
        bound: dict[str, forms.Form],
    ) -> TemplateResponse:
        now = timezone.now()
        decision = item.decision
        initial = {"version": item.version}
        may_link = request.user.has_perm("moderation.view_decision")
        chain = [
            {
                "decision": d,
                "is_current": d.pk == decision.pk,
                "type": _LABELS["type"].get(d.decision_type, d.decision_type),
                "action": _LABELS["action"].get(d.action, d.action),
                "url": reverse("admin:moderation_decision_change", args=[d.pk])
                if may_link
                else None,
            }
            for d in decision_chain(decision)
        ]
        proposal = item.proposal
        # The pending proposal is shown by its outcome and reason, not by who made it: the
        # second reviewer judges the outcome, not the colleague.
        reviews = [
            review
            for review in Review.objects.filter(item=item).select_related(
                "reviewer__user", "reversal"
            )
            if proposal is None or review.pk != proposal.pk
        ]
        context = self._context(
            request,
            f"Review of appeal item {item.pk}",
            item=item,
            appeal=item.appeal,
            decision=decision,
            summary=plain_summary(decision),
            chain=chain,
            reviews=reviews,
            proposal=proposal,
            statement_visible=may_read_statement(request, decision.platform_id),
            holds=self._holds(item, reviewer, now),
            decided=item.state == ItemState.DONE,
            appeal_done=item.appeal is not None
            and item.appeal.status
            in (AppealStatus.UPHELD, AppealStatus.OVERTURNED, AppealStatus.MODIFIED),
            decide_form=bound.get("decide") or DecideForm(initial=initial),
            escalate_form=bound.get("escalate") or EscalateForm(initial=initial),
            answer_form=bound.get("answer") or AnswerForm(initial=initial),
            now=now,
        )
        return TemplateResponse(request, "admin/appeals/reviewitem/review.html", context)


# The out-of-court disputes pages register themselves with the admin site.
from appeals import dispute_admin  # noqa: E402, F401
