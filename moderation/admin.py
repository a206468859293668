"""The moderators' admin: browse decisions, record manual ones, issue and revoke platforms' API
keys, register policies and model versions.

Every write goes through `moderation.services`, as the API's do; nothing here saves a model
itself except a platform's display name. Decisions, policies and model versions are append-only
(the database rejects UPDATE and DELETE), so their pages are read-only and offer no delete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, get_fields_from_path, unquote
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.http import urlencode

from moderation import forwarding, selectors, services, webhooks
from moderation.forms import (
    EuForwardingForm,
    IssueApiKeyForm,
    RecordDecisionForm,
    RegisterModelVersionForm,
    RegisterPolicyForm,
    ReverseDecisionForm,
    country_name,
    language_name,
    say_invalid_choice_in_words,
)
from moderation.models import (
    ApiKey,
    AuditEvent,
    Decision,
    DetectionModel,
    DsaSubmission,
    EuForwarding,
    ModelVersion,
    Platform,
    Policy,
    WebhookEndpoint,
    WebhookMessage,
)
from moderation.vocabulary import (
    SILENT_VISIBILITY,
    Action,
    AutomatedDecision,
    Category,
    ContentType,
    DecisionType,
    Keyword,
    Source,
    Visibility,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import _User
    from django.utils.functional import _StrPromise

admin.site.site_header = "Moderation ledger"
admin.site.site_title = "Moderation ledger admin"
admin.site.index_title = "Staff administration"

Fieldsets = list[tuple[str | None, dict[str, Any]]]

_LABELS: dict[str, Mapping[str, str]] = {
    "visibility": dict(Visibility.choices),
    "category": dict(Category.choices),
    "keyword": dict(Keyword.choices),
    "content_type": dict(ContentType.choices),
}


def _labels(kind: str, keys: Iterable[str]) -> str:
    """Human-readable labels of the vocabulary keys stored in a JSON list column."""
    names = _LABELS[kind]
    return ", ".join(names.get(key, key) for key in keys)


def short_pseudonym(value: str) -> str:
    """The first 8 of a pseudonym's 64 hex digits: enough to tell subjects apart on a page."""
    return f"{value[:8]}…" if len(value) > 8 else value


def subject_link(value: str, kind: str) -> str:
    """A subject's pseudonym, short, linking to every decision about the same subject (the
    decision search finds a full pseudonym); the full one in its title."""
    if not value:
        return "—"
    url = f"{reverse('admin:moderation_decision_changelist')}?{urlencode({'q': value})}"
    return format_html(
        '<a href="{}" title="{}" class="subject-link"><code>{}</code> every decision about this '
        "{}</a>",
        url,
        value,
        short_pseudonym(value),
        kind,
    )


def _staff_user(request: HttpRequest) -> _User:
    """The acting staff member: admin views are only reached signed in (AdminSite.admin_view)."""
    user = request.user
    assert not isinstance(user, AnonymousUser)
    return user


# --- platform scoping -----------------------------------------------------------------------

# How the rows of each platform-owned model reach their platform (a lookup path). Other apps'
# admins add their models (appeals: queues, items, appeals). Form choices, list filters and
# querysets of these models are cut to the user's platforms.
PLATFORM_PATHS: dict[type[models.Model], str] = {
    Platform: "pk",
    ApiKey: "platform",
    Policy: "platform",
    DetectionModel: "platform",
    ModelVersion: "model__platform",
    Decision: "platform",
    EuForwarding: "platform",
    DsaSubmission: "platform",
    # Rows of no platform (a superuser's own acts) are for superusers only.
    AuditEvent: "platform",
    WebhookEndpoint: "platform",
    WebhookMessage: "platform",
}

_PLATFORM_IDS_ATTRIBUTE = "_ledger_platform_ids"


def request_platform_ids(request: HttpRequest) -> set[int] | None:
    """`selectors.platform_ids_for` the signed-in user, asked once per request: a list page
    needs it for its rows, every filter's choices and every form field."""
    if not hasattr(request, _PLATFORM_IDS_ATTRIBUTE):
        setattr(request, _PLATFORM_IDS_ATTRIBUTE, selectors.platform_ids_for(request.user))
    ids: set[int] | None = getattr(request, _PLATFORM_IDS_ATTRIBUTE)
    return ids


def scope_to_platforms(queryset: QuerySet[Any], ids: set[int] | None) -> QuerySet[Any]:
    """The rows of `queryset` on the given platforms (all of them when `ids` is None)."""
    if ids is None or queryset.model not in PLATFORM_PATHS:
        return queryset
    return queryset.filter(**{f"{PLATFORM_PATHS[queryset.model]}__in": ids})


def scope_form(form: Form, ids: set[int] | None) -> None:
    """Cut every platform-owned choice of a form (platform, policy, model version...) to the
    user's platforms; a posted id outside them is then an invalid choice, like an unknown one."""
    if ids is None:
        return
    for field in form.fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is not None:
            field.queryset = scope_to_platforms(queryset, ids)  # type: ignore[attr-defined]


class ScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A list filter on a platform-owned relation offering only the user's platforms' rows."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str | _StrPromise]]:
        ids = request_platform_ids(request)
        if ids is None:
            return super().field_choices(field, request, model_admin)
        rows = scope_to_platforms(field.related_model._default_manager.all(), ids)
        return [(str(row.pk), str(row)) for row in rows]


class PlatformScopedAdmin(admin.ModelAdmin):
    """Staff who are not superusers see and act only on their platforms' records (their
    `PlatformMember` rows): the list, every lookup by id, form choices and list filters.

    Another platform's record answers 404 exactly like one that does not exist, so its id
    tells nothing; Django's own answer would be a redirect with "doesn't exist".
    """

    def platform_ids(self, request: HttpRequest) -> set[int] | None:
        return request_platform_ids(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope_to_platforms(super().get_queryset(request), self.platform_ids(request))

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = super().get_list_filter(request)
        if self.platform_ids(request) is None:
            return filters
        scoped: list[Any] = []
        for entry in filters:
            if isinstance(entry, str):
                field = get_fields_from_path(self.model, entry)[-1]
                if getattr(field, "related_model", None) in PLATFORM_PATHS:
                    entry = (entry, ScopedRelatedFilter)
            scoped.append(entry)
        return scoped

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and formfield.queryset is not None:
            formfield.queryset = scope_to_platforms(formfield.queryset, self.platform_ids(request))
        return formfield

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and formfield.queryset is not None:
            formfield.queryset = scope_to_platforms(formfield.queryset, self.platform_ids(request))
        return formfield

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> HttpResponse:
        raise Http404(f"No {opts.verbose_name} with this id.")


class ServiceAddAdmin(PlatformScopedAdmin):
    """A ModelAdmin whose "add" page is a plain form handed to a service, not a ModelForm save.

    The page reuses the admin's change-form template, so it looks and behaves like any other
    add page; `add_with_service` returns the response on success, or None after putting the
    service's refusal on the form.
    """

    add_form_template = "admin/moderation/service_add_form.html"
    add_form_class: type[Form] = Form
    add_fieldsets: Fieldsets = []
    add_title = ""
    add_intro = ""
    submit_label = "Save"

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form: Any = self.add_form_class(request.POST)
            scope_form(form, self.platform_ids(request))
            say_invalid_choice_in_words(form)
            if form.is_valid():
                response = self.add_with_service(request, form)
                if response is not None:
                    return response
        else:
            form = self.add_form_class(initial=self.get_changeform_initial_data(request))
            scope_form(form, self.platform_ids(request))
        fieldsets = self.add_fieldsets or [(None, {"fields": list(form.fields)})]
        admin_form = helpers.AdminForm(form, fieldsets, {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": self.add_title or f"Add {self.opts.verbose_name}",
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
            "intro": self.add_intro,
            "submit_label": self.submit_label,
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)

    def add_with_service(self, request: HttpRequest, form: Any) -> HttpResponse | None:
        raise NotImplementedError

    def redirect_to(self, obj: models.Model) -> HttpResponseRedirect:
        opts = self.opts
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )


class ReadOnlyAdmin(ServiceAddAdmin):
    """Append-only records: added through a service, then only viewed."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- platforms ------------------------------------------------------------------------------


@admin.register(Platform)
class PlatformAdmin(PlatformScopedAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("slug", "name")
    fields = ("slug", "name", "created_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Platform | None = None
    ) -> tuple[str, ...]:
        # The slug keys every subject pseudonym of the platform: renaming it would split each
        # subject's history in two, so it is fixed once the platform exists.
        return ("created_at",) if obj is None else ("slug", "created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Platform | None = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A new platform has no members yet: only a superuser, who sees every platform, adds one.
        return bool(request.user.is_superuser) and super().has_add_permission(request)

    def save_model(self, request: HttpRequest, obj: Platform, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        created = services.create_platform(slug=obj.slug, name=obj.name, actor=_staff_user(request))
        obj.pk, obj.created_at = created.pk, created.created_at


# --- API keys -------------------------------------------------------------------------------


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str | _StrPromise]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = (
        "prefix",
        "platform",
        "name",
        "created_at",
        "created_by",
        "revoked_at",
        "active",
    )
    list_filter = ("platform", ApiKeyStatusFilter)
    list_select_related = ("platform", "created_by")
    search_fields = ("prefix", "name")
    # Not key_hash: nothing about the secret is shown, not even its digest.
    fields = ("platform", "name", "prefix", "created_at", "created_by", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_keys",)
    add_form_class = IssueApiKeyForm
    add_title = "Issue an API key"
    add_intro = "The key is shown once, on the next page. Only its SHA-256 is stored."
    submit_label = "Issue key"

    @admin.display(boolean=True, description="active")
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        active = list(queryset.filter(revoked_at__isnull=True))
        for api_key in active:
            services.revoke_api_key(api_key=api_key, actor=_staff_user(request))
        self.message_user(request, f"Revoked {len(active)} key(s).", messages.SUCCESS)

    def add_with_service(self, request: HttpRequest, form: IssueApiKeyForm) -> HttpResponse:
        api_key, plaintext = services.issue_api_key(
            platform=form.cleaned_data["platform"],
            name=form.cleaned_data["name"],
            created_by=_staff_user(request),
        )
        self.log_addition(request, api_key, [{"added": {}}])
        # Rendered in this response rather than redirected with a message: a message waits in
        # a cookie or the session until it is shown, and the plaintext must not rest anywhere.
        response = TemplateResponse(
            request,
            "admin/moderation/apikey/issued.html",
            {
                **self.admin_site.each_context(request),
                "title": "API key issued",
                "opts": self.opts,
                "api_key": api_key,
                "plaintext": plaintext,
            },
        )
        add_never_cache_headers(response)
        return response


# --- policies and models --------------------------------------------------------------------


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "title", "platform", "category", "ground", "created_at")
    list_filter = ("platform", "category", "ground")
    list_select_related = ("platform",)
    search_fields = ("key", "title")
    fields = (
        "platform",
        "key",
        "version",
        "title",
        "category",
        "ground",
        "clause",
        "url",
        "summary",
        "created_at",
    )
    readonly_fields = fields
    add_form_class = RegisterPolicyForm
    add_title = "Register a policy version"
    add_intro = (
        "A published rule is never reworded in place: a new wording is a new version of the "
        "same key."
    )
    submit_label = "Register policy"

    def add_with_service(
        self, request: HttpRequest, form: RegisterPolicyForm
    ) -> HttpResponse | None:
        try:
            policy, created = services.register_policy(
                actor=_staff_user(request), **form.cleaned_data
            )
        except services.RegistrationConflict as exc:
            form.add_error("version", exc.message)
            return None
        if created:
            self.log_addition(request, policy, [{"added": {}}])
            self.message_user(request, f"Registered policy {policy}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Policy {policy} was already registered.", messages.INFO)
        return self.redirect_to(policy)


class ModelVersionInline(admin.TabularInline):
    model = ModelVersion
    fields = ("version", "released_at", "threshold", "card_url", "created_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DetectionModel)
class DetectionModelAdmin(PlatformScopedAdmin):
    """Models are created with their first version (see ModelVersionAdmin), never edited."""

    list_display = ("name", "platform", "version_count", "created_at")
    list_filter = ("platform",)
    list_select_related = ("platform",)
    search_fields = ("name",)
    fields = ("platform", "name", "created_at")
    readonly_fields = fields
    inlines = (ModelVersionInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DetectionModel]:
        return super().get_queryset(request).annotate(version_count=Count("versions"))

    @admin.display(description="versions", ordering="version_count")
    def version_count(self, obj: Any) -> int:
        return int(obj.version_count)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "platform", "released_at", "threshold", "created_at")
    list_filter = ("model__platform", "model")
    list_select_related = ("model__platform",)
    search_fields = ("model__name", "version")
    fields = ("model", "version", "released_at", "threshold", "card_url", "created_at")
    readonly_fields = fields
    add_form_class = RegisterModelVersionForm
    add_title = "Register a model version"
    add_intro = (
        "A released version is never changed: a retrained or re-thresholded model is a new "
        "version. The model itself is created with its first version."
    )
    submit_label = "Register model version"

    @admin.display(description="platform", ordering="model__platform__slug")
    def platform(self, obj: ModelVersion) -> Platform:
        return obj.model.platform

    def add_with_service(
        self, request: HttpRequest, form: RegisterModelVersionForm
    ) -> HttpResponse | None:
        try:
            version, created = services.register_model_version(
                actor=_staff_user(request), **form.cleaned_data
            )
        except services.RegistrationConflict as exc:
            form.add_error(None, exc.message)
            return None
        if created:
            self.log_addition(request, version, [{"added": {}}])
            self.message_user(request, f"Registered model version {version}.", messages.SUCCESS)
        else:
            self.message_user(request, f"{version} was already registered.", messages.INFO)
        return self.redirect_to(version)


# --- decisions ------------------------------------------------------------------------------

SILENT = "silent"


class VisibilityFilter(admin.SimpleListFilter):
    title = "visibility restriction"
    parameter_name = "visibility"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str | _StrPromise]]:
        return [(SILENT, "Any silent restriction (shadowban)"), *Visibility.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        keys: list[str]
        if value == SILENT:
            keys = sorted(SILENT_VISIBILITY)
        elif value in Visibility.values:
            keys = [value]
        else:
            return queryset.none()
        # The column holds a JSON list of keys. Matching the key with its quotes cannot hit
        # another key that contains it, and the text match works the same on SQLite and
        # PostgreSQL (a scan; fine at the admin's scale, a GIN index would serve more).
        matches = Q()
        for key in keys:
            matches |= Q(decision_visibility__icontains=f'"{key}"')
        return queryset.filter(matches)


class PolicyFilter(admin.RelatedFieldListFilter):
    """The platform's rule a decision applied. Labelled by the rule's title, so that it does not
    read like the model-version filter's choices: both were "vidshare: hate-speech v1"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "policy (the platform's rule)"

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str | _StrPromise]]:
        # One query, labelled with the platform: several platforms may name a policy alike.
        policies = scope_to_platforms(
            Policy.objects.select_related("platform").order_by("platform__slug", "key", "-version"),
            request_platform_ids(request),
        )
        return [(str(p.pk), f"{p.platform.slug}: rule “{p.title}” ({p})") for p in policies]


class ModelVersionFilter(admin.RelatedFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "detection model version"

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str | _StrPromise]]:
        # ModelVersion.__str__ reads its model: without the join this is a query per version.
        versions = scope_to_platforms(
            ModelVersion.objects.select_related("model__platform").order_by(
                "model__platform__slug", "model__name", "-released_at"
            ),
            request_platform_ids(request),
        )
        return [
            (str(v.pk), f"{v.model.platform.slug}: model {v.model.name}, version {v.version}")
            for v in versions
        ]


_DECISION_RELATED = (*selectors.DECISION_RELATED, "moderator")
# Detail-page entries that display a column under another name.
_SHOWN_AS = {
    "visibility": "decision_visibility",
    "additional_categories": "category_addition",
    "keywords": "category_specification",
    "content_types": "content_type",
    "territories": "territorial_scope",
    "staff_notes": "internal_notes",
    "account_subject": "subject_account",
    "content_subject": "subject_content",
    "moderator_pseudonym": "moderator_ref",
    "language": "content_language",
}
# The list's facts column: enough of the statement to tell chess talk from hate at a glance.
FACTS_EXCERPT = 120
# Shown even when empty; every other entry of the detail page only when the record has it.
_ALWAYS_SHOWN = frozenset(
    {
        "public_id",
        "platform",
        "puid",
        "decision_type",
        "action",
        "decided_at",
        "application_date",
        "created_at",
        "notice_page",
        "decision_ground",
        "category",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
        "content_types",
        "content_date",
    }
)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    # What a moderator triages by, in cells that wrap (see change_list.html): the list fits
    # 1280 px with the navigation open, and becomes one card per decision on a phone.
    list_display = (
        "decision",
        "what",
        "policy_and_category",
        "source",
        "model_and_score",
        "facts",
    )
    list_filter = (
        "action",
        VisibilityFilter,
        "source_type",
        "automated_decision",
        "automated_detection",
        ("policy", PolicyFilter),
        ("model_version", ModelVersionFilter),
        "platform",
        ("decided_at", admin.DateFieldListFilter),
    )
    # Every column's foreign key in the one list query; no count of the whole table.
    list_select_related = ("platform", "policy", "model_version__model")
    show_full_result_count = False
    # Facet counts would add a COUNT per filter choice to every page.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    # Only to show the search box: get_search_results does the searching.
    search_fields = ("=puid",)
    search_help_text = (
        "An account or content id as the platform knows it (every decision about it), a "
        "decision id, the platform's decision id (puid), or words of the statement of facts."
    )
    actions = None
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "public_id",
                    "platform",
                    "puid",
                    "decision_type",
                    "action",
                    "supersedes",
                    "decided_at",
                    "application_date",
                    "notified_at",
                    "created_at",
                    "notice_page",
                ],
                "description": "Fields the record leaves empty are not shown.",
            },
        ),
        (
            "Restrictions",
            {
                "fields": [
                    "visibility",
                    "decision_visibility_other",
                    "end_date_visibility_restriction",
                    "decision_monetary",
                    "decision_monetary_other",
                    "end_date_monetary_restriction",
                    "decision_provision",
                    "end_date_service_restriction",
                    "decision_account",
                    "end_date_account_restriction",
                    "account_type",
                ]
            },
        ),
        (
            "Ground and policy",
            {
                "fields": [
                    "decision_ground",
                    "decision_ground_reference_url",
                    "illegal_content_legal_ground",
                    "illegal_content_explanation",
                    "incompatible_content_ground",
                    "incompatible_content_explanation",
                    "incompatible_content_illegal",
                    "category",
                    "additional_categories",
                    "keywords",
                    "category_specification_other",
                    "policy",
                    "decision_facts",
                ]
            },
        ),
        (
            "Source and automation",
            {
                "fields": [
                    "source_type",
                    "source_identity",
                    "automated_detection",
                    "automated_decision",
                    "model_version",
                    "score",
                    "threshold",
                    "moderator",
                    "moderator_pseudonym",
                ]
            },
        ),
        (
            "Subject and content",
            {
                "fields": [
                    "account_subject",
                    "content_subject",
                    "content_types",
                    "content_type_other",
                    "language",
                    "content_id_ean",
                    "territories",
                    "content_date",
                ]
            },
        ),
        (
            "Internal — staff only",
            {
                "fields": ["staff_notes"],
                "description": "Never shown on public pages, in notices or in public payloads.",
            },
        ),
    ]
    readonly_fields = tuple(flatten_fieldsets(fieldsets))
    change_form_template = "admin/moderation/decision/change_form.html"
    add_form_class = RecordDecisionForm
    add_form_template = "admin/moderation/decision/add_form.html"
    add_title = "Record a manual decision"
    add_intro = (
        "Recorded exactly as a platform's API call would be, with you as the moderator. A "
        "decision is never edited: to reverse or end one, record a new decision that "
        "supersedes it."
    )
    submit_label = "Record decision"
    add_fieldsets: Fieldsets = [
        (
            None,
            {
                "fields": [
                    "platform",
                    "puid",
                    ("subject_account", "subject_content"),
                    "decision_type",
                    "supersedes",
                ]
            },
        ),
        (
            "Restrictions",
            {
                "fields": [
                    "decision_visibility",
                    ("decision_visibility_other", "end_date_visibility_restriction"),
                    ("decision_monetary", "decision_monetary_other"),
                    "end_date_monetary_restriction",
                    ("decision_provision", "end_date_service_restriction"),
                    ("decision_account", "end_date_account_restriction"),
                    "account_type",
                ]
            },
        ),
        (
            "Ground and policy",
            {
                "fields": [
                    ("decision_ground", "decision_ground_reference_url"),
                    "illegal_content_legal_ground",
                    "illegal_content_explanation",
                    "incompatible_content_ground",
                    "incompatible_content_explanation",
                    "incompatible_content_illegal",
                    "category",
                    "category_addition",
                    "category_specification",
                    "category_specification_other",
                    "policy",
                    "decision_facts",
                ]
            },
        ),
        (
            "Source and automation",
            {
                "fields": [
                    ("source_type", "source_identity"),
                    "automated_detection",
                    "automated_decision",
                    ("model_version", "score"),
                ]
            },
        ),
        (
            "Content",
            {
                "fields": [
                    "content_type",
                    "content_type_other",
                    ("content_language", "content_id_ean"),
                    "territorial_scope",
                    ("content_date", "application_date"),
                ]
            },
        ),
        (
            "Internal — staff only",
            {
                "fields": ["internal_notes"],
                "description": "Never shown on public pages, in notices or in public payloads.",
            },
        ),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Decision | None = None) -> Any:
        """The fields the decision has: a DSA statement leaves most of its optional ones empty."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        shown = []
        for name, options in fieldsets:
            fields = [
                field
                for field in options["fields"]
                if isinstance(field, str)
                and (
                    field in _ALWAYS_SHOWN
                    or getattr(obj, _SHOWN_AS.get(field, field)) not in (None, "", [])
                )
            ]
            if fields:
                shown.append((name, {**options, "fields": fields}))
        return shown

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Decision], search_term: str
    ) -> tuple[QuerySet[Decision], bool]:
        platforms = scope_to_platforms(
            Platform.objects.only("pk", "slug"), self.platform_ids(request)
        )
        return selectors.decisions_matching(queryset, search_term, platforms=platforms), False

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Decision | None:
        if from_field is not None:
            return super().get_object(request, object_id, from_field)
        # The detail page shows every foreign key by name: fetch them in the one query.
        queryset = self.get_queryset(request).select_related(*_DECISION_RELATED)
        try:
            return queryset.get(pk=int(unquote(object_id)))
        except (Decision.DoesNotExist, ValueError):
            return None

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Decision | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["chain"] = _chain_rows(obj)
            context["chain_about"] = "content" if obj.subject_content else "account"
            if self.has_add_permission(request):
                query = urlencode(
                    {
                        "platform": str(obj.platform_id),
                        "supersedes": str(obj.public_id),
                        "decision_type": DecisionType.REVERSAL.value,
                    }
                )
                context["follow_up_url"] = f"{reverse('admin:moderation_decision_add')}?{query}"
                context["reverse_url"] = reverse("admin:moderation_decision_reverse", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/reverse/",
                self.admin_site.admin_view(self.reverse_view),
                name="moderation_decision_reverse",
            )
        ]
        return own + super().get_urls()

    def reverse_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Record a reversal through `services.reverse_decision`, showing what it reverses."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        original = self.get_object(request, unquote(object_id))
        if original is None:
            raise Http404("No such decision.")
        form = ReverseDecisionForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            recorded = form.record(decision=original, moderator=_staff_user(request))
            if recorded is not None:
                reversal = Decision.objects.get(public_id=recorded.public_id)
                messages.success(request, f"Recorded the reversal of {original.public_id}.")
                return self.redirect_to(reversal)
        context = {
            **self.admin_site.each_context(request),
            "title": "Record a reversal",
            "opts": self.opts,
            "original": original,
            "account_subject": subject_link(original.subject_account, "account"),
            "content_subject": subject_link(original.subject_content, "content"),
            "form": form,
        }
        return TemplateResponse(request, "admin/moderation/decision/reverse.html", context)

    def add_with_service(
        self, request: HttpRequest, form: RecordDecisionForm
    ) -> HttpResponse | None:
        recorded = form.record(moderator=_staff_user(request))
        if recorded is None:
            return None
        decision = Decision.objects.get(public_id=recorded.public_id)
        if recorded.created:
            self.log_addition(request, decision, [{"added": {}}])
            self.message_user(
                request,
                f"Recorded decision {decision.public_id} ({decision.get_action_display()}).",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                "This decision was already recorded with the same content; nothing new was "
                "written.",
                messages.WARNING,
            )
        return self.redirect_to(decision)

    @admin.display(description="decision", ordering="decided_at")
    def decision(self, obj: Decision) -> str:
        return format_html(
            '<span class="puid" title="the platform\'s decision id">{}</span>'
            '<span class="detail">{}</span><span class="detail">{}</span>',
            obj.puid,
            timezone.localtime(obj.decided_at).strftime("%Y-%m-%d %H:%M"),
            obj.platform.slug,
        )

    @admin.display(description="action", ordering="action")
    def what(self, obj: Decision) -> str:
        restrictions = _labels("visibility", obj.decision_visibility)
        if not restrictions:
            return obj.get_action_display()
        return format_html(
            '{}<span class="detail">{}</span>', obj.get_action_display(), restrictions
        )

    @admin.display(description="policy / category", ordering="policy__key")
    def policy_and_category(self, obj: Decision) -> str:
        category = obj.get_category_display()
        if obj.policy is None:
            return format_html('<span class="detail">{}</span>', category)
        return format_html(
            '<span title="{}">{}</span><span class="detail">{}</span>',
            obj.policy.title,
            obj.policy,
            category,
        )

    @admin.display(description="model / score", ordering="score")
    def model_and_score(self, obj: Decision) -> str:
        if obj.model_version is None:
            return "\u2014"
        if obj.score is None:
            return str(obj.model_version)
        threshold = "" if obj.threshold is None else f"threshold {obj.threshold:.2f}"
        return format_html(
            '{}<span class="detail score" title="{}">score {}</span>',
            obj.model_version,
            threshold,
            f"{obj.score:.3f}",
        )

    @admin.display(description="facts")
    def facts(self, obj: Decision) -> str:
        return format_html(
            '<span title="{}">{}</span>', obj.decision_facts, excerpt(obj.decision_facts)
        )

    @admin.display(description="affected account")
    def account_subject(self, obj: Decision) -> str:
        return subject_link(obj.subject_account, "account")

    @admin.display(description="affected content")
    def content_subject(self, obj: Decision) -> str:
        return subject_link(obj.subject_content, "content")

    @admin.display(description="moderator (platform's, pseudonymised)")
    def moderator_pseudonym(self, obj: Decision) -> str:
        return format_html(
            '<code title="{}">{}</code>', obj.moderator_ref, short_pseudonym(obj.moderator_ref)
        )

    @admin.display(description="content language")
    def language(self, obj: Decision) -> str:
        return language_name(obj.content_language)

    @admin.display(description="source", ordering="source_type")
    def source(self, obj: Decision) -> str:
        return obj.get_source_type_display()

    @admin.display(description="automation", ordering="automated_decision")
    def automation(self, obj: Decision) -> str:
        return obj.get_automated_decision_display()

    @admin.display(description="visibility restrictions")
    def visibility(self, obj: Decision) -> str:
        return _labels("visibility", obj.decision_visibility)

    @admin.display(description="additional categories")
    def additional_categories(self, obj: Decision) -> str:
        return _labels("category", obj.category_addition)

    @admin.display(description="keywords")
    def keywords(self, obj: Decision) -> str:
        return _labels("keyword", obj.category_specification)

    @admin.display(description="content types")
    def content_types(self, obj: Decision) -> str:
        return _labels("content_type", obj.content_type)

    @admin.display(description="territorial scope")
    def territories(self, obj: Decision) -> str:
        return ", ".join(country_name(code) for code in obj.territorial_scope)

    @admin.display(description="internal notes (staff only)")
    def staff_notes(self, obj: Decision) -> str:
        return obj.internal_notes

    @admin.display(description="creator's notice")
    def notice_page(self, obj: Decision) -> str:
        return format_html(
            '<a href="{}">the notice page the creator was given</a>',
            reverse("notice", args=[obj.notice_token]),
        )


def excerpt(text: str, length: int = FACTS_EXCERPT) -> str:
    """The start of `text`, cut at a word within `length` characters, with "…" when cut."""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0] if " " in text[:length] else text[:length]
    return f"{cut.rstrip(',;:')}…"


def _chain_rows(decision: Decision) -> list[dict[str, Any]]:
    """The chain as the detail page lists it, numbered, each row saying which it changes."""
    chain = list(selectors.decision_chain(decision))
    position = {d.pk: n for n, d in enumerate(chain, start=1)}
    action_labels = dict(Action.choices)
    source_labels = dict(Source.choices)
    automation_labels = dict(AutomatedDecision.choices)
    type_labels = dict(DecisionType.choices)
    return [
        {
            "number": position[d.pk],
            "url": reverse("admin:moderation_decision_change", args=[d.pk]),
            "is_current": d.pk == decision.pk,
            "decided_at": d.decided_at,
            "decision_type": type_labels.get(d.decision_type, d.decision_type),
            "action": action_labels.get(d.action, d.action),
            "visibility": _labels("visibility", d.decision_visibility),
            "changes": position.get(d.supersedes_id) if d.supersedes_id else None,
            "source": source_labels.get(d.source_type, d.source_type),
            "automation": automation_labels.get(d.automated_decision, d.automated_decision),
            "model_version": d.model_version,
            "policy": d.policy,
            "puid": d.puid,
            "public_id": d.public_id,
        }
        for d in chain
    ]


# --- forwarding to the EU -------------------------------------------------------------------


@admin.register(EuForwarding)
class EuForwardingAdmin(ReadOnlyAdmin):
    """Giving a token again (the add form) replaces it; there is no other way to edit one."""

    list_display = ("platform", "enabled", "endpoint", "paused_reason", "updated_at")
    list_select_related = ("platform",)
    fields = ("platform", "enabled", "endpoint", "paused_reason", "created_at", "updated_at")
    readonly_fields = fields
    add_form_class = EuForwardingForm
    add_title = "Forward a platform's statements to the EU"
    add_intro = (
        "Every restriction the platform records from now on is sent to the EU DSA Transparency "
        "Database. Giving a new token for a platform replaces the old one and resumes paused "
        "forwarding."
    )
    submit_label = "Save token"

    def add_with_service(self, request: HttpRequest, form: EuForwardingForm) -> HttpResponse | None:
        configured = forwarding.configure_eu_forwarding(
            actor=_staff_user(request), **form.cleaned_data
        )
        self.log_addition(request, configured, [{"added": {}}])
        self.message_user(
            request, f"Saved the EU token for {configured.platform}.", messages.SUCCESS
        )
        return self.redirect_to(configured)


@admin.register(DsaSubmission)
class DsaSubmissionAdmin(ReadOnlyAdmin):
    list_display = (
        "decision",
        "platform",
        "state",
        "attempts",
        "next_attempt_at",
        "eu_uuid",
        "submitted_at",
    )
    list_filter = ("state", "platform")
    list_select_related = ("platform", "decision")
    search_fields = ("decision__public_id", "decision__puid")
    show_full_result_count = False
    readonly_fields = (
        "decision",
        "platform",
        "state",
        "attempts",
        "next_attempt_at",
        "outcome_unknown",
        "eu_uuid",
        "submitted_at",
        "last_error",
        "created_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# --- audit trail ----------------------------------------------------------------------------


class ActorKindFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor_kind"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [("user", "A person"), ("key", "An API key"), ("other", "The system or a command")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "user":
            return queryset.filter(actor_user__isnull=False)
        if self.value() == "key":
            return queryset.filter(actor_key__isnull=False)
        if self.value() == "other":
            return queryset.filter(actor_user__isnull=True, actor_key__isnull=True)
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Who did what: written only by the services (moderation.trail), refused UPDATE and
    DELETE by the database, so here it is only read."""

    list_display = ("at", "actor", "action", "object", "platform")
    list_filter = (ActorKindFilter, "action", "platform", ("at", admin.DateFieldListFilter))
    list_select_related = ("platform",)
    search_fields = ("actor_label", "action", "object_id")
    # The trail grows with every batch: no COUNT(*) of the whole table on each page.
    show_full_result_count = False
    fields = (
        "at",
        "actor_label",
        "actor_user",
        "actor_key",
        "platform",
        "action",
        "object_type",
        "object_id",
        "details",
    )
    readonly_fields = fields

    @admin.display(description="actor", ordering="actor_label")
    def actor(self, obj: AuditEvent) -> str:
        return obj.actor_label

    @admin.display(description="object", ordering="object_id")
    def object(self, obj: AuditEvent) -> str:
        return f"{obj.object_type} {obj.object_id}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# --- webhooks -------------------------------------------------------------------------------


class WebhookScopedAdmin(ReadOnlyAdmin):
    """Set through the API (moderation.webhooks), only read here, by the platform's staff."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        ids = selectors.platform_ids_for(request.user)
        return queryset if ids is None else queryset.filter(platform_id__in=ids)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(WebhookScopedAdmin):
    # Never the secret, not even encrypted: it is shown once, to the platform that set it.
    list_display = ("platform", "url", "updated_at")
    list_select_related = ("platform",)
    fields = ("platform", "url", "created_at", "updated_at")
    readonly_fields = fields


@admin.register(WebhookMessage)
class WebhookMessageAdmin(WebhookScopedAdmin):
    list_display = (
        "msg_id",
        "platform",
        "event_type",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("event_type", "platform")
    list_select_related = ("platform",)
    search_fields = ("msg_id",)
    show_full_result_count = False
    fields = (
        "msg_id",
        "platform",
        "event_type",
        "payload",
        "created_at",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "failed_at",
        "last_status",
        "last_error",
    )
    readonly_fields = fields
    actions = ("send_again",)

    @admin.action(description="Send the selected given-up messages again")
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookMessage]) -> None:
        count = webhooks.send_again(messages=list(queryset), actor=_staff_user(request))
        self.message_user(
            request,
            f"{count} message(s) will be sent again; the others were not given up.",
            messages.SUCCESS,
        )

    @admin.display(description="state")
    def state(self, obj: WebhookMessage) -> str:
        if obj.delivered_at is not None:
            return "delivered"
        return "given up" if obj.failed_at is not None else "pending"
