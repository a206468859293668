"""The moderators' admin for out-of-court disputes (DSA Article 21): the list of the platform's
disputes, a form to record a referral, and on a dispute's page the forms to record the body's
ruling and then whether the platform implemented it.

Every write goes through `appeals.disputes` (refer_dispute, record_ruling,
record_implementation), as the API's do; a refusal (`DisputeRejected`) is put on the form, each
problem on its field. The rows are append-only, so the pages never change or delete one. Cut
to the user's platforms (`PlatformScopedAdmin`): another platform's dispute or decision answers
404 or "unknown", like one that does not exist. Imported by appeals.admin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from appeals import disputes
from appeals.disputes import DisputeRejected
from appeals.models import Appellant, Dispute, DisputeOutcome
from moderation.admin import PLATFORM_PATHS, ReadOnlyAdmin, scope_to_platforms
from moderation.models import Decision

PLATFORM_PATHS[Dispute] = "platform"

_TIME_HELP = "In UTC, as the log records it."


def _time_field(label: str, *, required: bool = True) -> forms.DateTimeField:
    # The browser's own date-and-time input: no admin JavaScript needed, also on a phone.
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=_TIME_HELP,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )


class ReferDisputeForm(forms.Form):
    decision = forms.UUIDField(
        label="Decision id",
        help_text="The decision's id (a UUID), as its page and its notice show it.",
    )
    complainant = forms.ChoiceField(
        label="Who took it to the body",
        choices=Appellant.choices,
        widget=forms.RadioSelect,
        help_text="The notifier only for a decision taken on a notice.",
    )
    body = forms.CharField(
        label="Certified dispute settlement body",
        max_length=disputes.MAX_BODY_LENGTH,
        help_text="Its name. Public: it goes into the log and onto the creator's notice page.",
    )
    referred_at = _time_field("Referred on")


class RulingForm(forms.Form):
    outcome = forms.ChoiceField(
        label="The body's outcome", choices=DisputeOutcome.choices, widget=forms.RadioSelect
    )
    decided_at = _time_field("Decided on")


class ImplementationForm(forms.Form):
    implemented = forms.TypedChoiceField(
        label="Did the platform implement the outcome?",
        choices=[("yes", "Yes, it was implemented"), ("no", "No, it was not implemented")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    implemented_at = _time_field("Implemented on", required=False)


def _put_refusal(form: forms.Form, refused: DisputeRejected) -> None:
    """The service's problems on the form: each on its field, the rest on top."""
    for field, problems in refused.errors.items():
        target = field if field in form.fields else None
        for problem in problems:
            form.add_error(target, problem)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = (
        "referred_at",
        "decision_id_shown",
        "platform",
        "complainant",
        "body",
        "outcome",
        "implementation_shown",
    )
    list_filter = ("complainant", "ruling__outcome", "implementation__implemented", "platform")
    list_select_related = ("platform", "decision", "ruling", "implementation")
    search_fields = ("=public_id", "=decision__public_id", "body")
    search_help_text = "A dispute's or a decision's id (exact), or a body's name."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None
    fields = (
        "public_id",
        "platform",
        "decision_link",
        "complainant",
        "body",
        "referred_at",
        "created_at",
        "log_entry",
        "ruling_shown",
        "implementation_shown",
        "next_step",
    )
    readonly_fields = fields
    add_form_class = ReferDisputeForm
    add_title = "Record an out-of-court dispute"
    add_intro = (
        "A case about one of the platform's decisions was referred to a certified out-of-court "
        "dispute settlement body (DSA Article 21). Record the referral here; once the body "
        "decides, record its outcome on the dispute's page, then whether the platform "
        "implemented it. Each step is written into the public log and cannot be changed."
    )
    submit_label = "Record the referral"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        return super().get_queryset(request).select_related("ruling", "implementation")

    # --- columns and fields

    @admin.display(description="decision", ordering="decision__public_id")
    def decision_id_shown(self, obj: Dispute) -> str:
        return str(obj.decision.public_id)

    @admin.display(description="decision")
    def decision_link(self, obj: Dispute) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:moderation_decision_change", args=[obj.decision_id]),
            obj.decision.public_id,
        )

    @admin.display(description="outcome", ordering="ruling__outcome")
    def outcome(self, obj: Dispute) -> str:
        ruling = getattr(obj, "ruling", None)
        return "awaiting the body" if ruling is None else ruling.get_outcome_display()

    @admin.display(description="ruling")
    def ruling_shown(self, obj: Dispute) -> str:
        ruling = getattr(obj, "ruling", None)
        if ruling is None:
            return "Not yet recorded."
        return (
            f"{ruling.get_outcome_display()}, decided {ruling.decided_at:%Y-%m-%d %H:%M} UTC "
            f"(log entry {ruling.log_entry_id})"
        )

    @admin.display(description="implemented")
    def implementation_shown(self, obj: Dispute) -> str:
        implementation = getattr(obj, "implementation", None)
        if implementation is None:
            ruling = getattr(obj, "ruling", None)
            if ruling is not None and ruling.outcome == DisputeOutcome.WITHDRAWN:
                return "nothing to implement"
            return "not yet recorded"
        if not implementation.implemented:
            return "no"
        assert implementation.implemented_at is not None  # a constraint
        return f"yes, {implementation.implemented_at:%Y-%m-%d %H:%M} UTC"

    @admin.display(description="next step")
    def next_step(self, obj: Dispute) -> str:
        ruling = getattr(obj, "ruling", None)
        if ruling is None:
            return format_html(
                '<a class="button" href="{}">Record the body\'s ruling</a>',
                reverse("admin:appeals_dispute_ruling", args=[obj.pk]),
            )
        if (
            ruling.outcome != DisputeOutcome.WITHDRAWN
            and getattr(obj, "implementation", None) is None
        ):
            return format_html(
                '<a class="button" href="{}">Record whether it was implemented</a>',
                reverse("admin:appeals_dispute_implementation", args=[obj.pk]),
            )
        return "None: every step is recorded."

    # --- writes, through the services

    def add_with_service(self, request: HttpRequest, form: ReferDisputeForm) -> HttpResponse | None:
        data = form.cleaned_data
        decisions = scope_to_platforms(Decision.objects.all(), self.platform_ids(request))
        decision = decisions.filter(public_id=data["decision"]).first()
        if decision is None:
            form.add_error("decision", "None of your platforms' decisions has this id.")
            return None
        try:
            dispute = disputes.refer_dispute(
                decision=decision,
                complainant=data["complainant"],
                body=data["body"],
                referred_at=data["referred_at"],
                actor=request.user,
            )
        except DisputeRejected as refused:
            _put_refusal(form, refused)
            return None
        self.message_user(request, f"Recorded the referral to {dispute.body}.", messages.SUCCESS)
        return self.redirect_to(dispute)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        own = [
            path(
                "<path:object_id>/ruling/",
                wrap(self.ruling_view),
                name="appeals_dispute_ruling",
            ),
            path(
                "<path:object_id>/implementation/",
                wrap(self.implementation_view),
                name="appeals_dispute_implementation",
            ),
        ]
        return own + super().get_urls()

    def _dispute(self, request: HttpRequest, object_id: str) -> Dispute:
        if not self.has_add_permission(request):
            raise PermissionDenied
        dispute = self.get_object(request, unquote(object_id))
        if dispute is None:
            raise Http404("No such dispute.")
        return dispute

    def ruling_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        dispute = self._dispute(request, object_id)

        def record(form: forms.Form) -> None:
            disputes.record_ruling(
                dispute=dispute,
                outcome=form.cleaned_data["outcome"],
                decided_at=form.cleaned_data["decided_at"],
                actor=request.user,
            )

        return self._step_view(
            request,
            dispute,
            RulingForm,
            record,
            title="Record the body's ruling",
            intro=f"The outcome {dispute.body} reached in dispute {dispute.public_id} (referred "
            f"{dispute.referred_at:%Y-%m-%d %H:%M} UTC). Recorded once, in the public log.",
            done="Recorded the body's ruling.",
        )

    def implementation_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        dispute = self._dispute(request, object_id)

        def record(form: forms.Form) -> None:
            implemented = form.cleaned_data["implemented"]
            disputes.record_implementation(
                dispute=dispute,
                implemented=implemented,
                # A time typed with "no" is refused by the service, not silently dropped.
                implemented_at=form.cleaned_data.get("implemented_at"),
                actor=request.user,
            )

        return self._step_view(
            request,
            dispute,
            ImplementationForm,
            record,
            title="Record whether the outcome was implemented",
            intro=f"Whether, and when, the platform implemented the outcome of dispute "
            f"{dispute.public_id} ({dispute.body}). Recorded once, in the public log.",
            done="Recorded whether the outcome was implemented.",
        )

    def _step_view(
        self,
        request: HttpRequest,
        dispute: Dispute,
        form_class: type[forms.Form],
        record: Callable[[forms.Form], None],
        *,
        title: str,
        intro: str,
        done: str,
    ) -> HttpResponse:
        """A step's form on the admin's own add-form page; on success back to the dispute."""
        status = 200
        form: Any
        if request.method == "POST":
            form = form_class(request.POST)
            if form.is_valid():
                try:
                    record(form)
                except DisputeRejected as refused:
                    _put_refusal(form, refused)
                    status = 409 if refused.code == "conflict" else 400
                else:
                    self.message_user(request, done, messages.SUCCESS)
                    return self.redirect_to(dispute)
            else:
                status = 400
        else:
            form = form_class()
        admin_form = helpers.AdminForm(
            form, [(None, {"fields": list(form.fields)})], {}, model_admin=self
        )
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "adminform": admin_form,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "intro": intro,
            "submit_label": "Record",
        }
        response = self.render_change_form(request, context, add=True)
        response.status_code = status
        return response
