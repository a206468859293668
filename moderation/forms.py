"""Staff forms of the admin. They validate input and call one service each; no model saves.

`RecordDecisionForm` builds the same `DecisionIn` the API decodes and records it with
`services.record_decision`, so a manual decision passes exactly the rules an API one does. The
service's messages name fields and vocabulary keys as the API does ("Required when decision_ground
is DECISION_GROUND_ILLEGAL_CONTENT."); `in_words` says them as the form does ("Required when the
ground is illegal content.").
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec
from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.utils import timezone

from moderation import forwarding, services
from moderation.models import ApiKey, Decision, ModelVersion, Platform, Policy
from moderation.schemas import PUID_PATTERN, DecisionIn, field_error
from moderation.vocabulary import (
    CATEGORY_FIELDS,
    COUNTRY_NAMES,
    GROUND_FIELDS,
    LANGUAGE_NAMES,
    RESTRICTION_FIELDS,
    AccountAction,
    AccountType,
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

YES_NO = [("No", "No"), ("Yes", "Yes")]
# A required choice starts on this: nothing is chosen for the moderator.
CHOOSE = ("", "Choose…")

# Where an error about a `DecisionIn` field (or a path in it) is shown on the form.
_ERROR_FIELD = {
    "subject": "subject_account",
    "subject.account": "subject_account",
    "subject.content": "subject_content",
    "model": "model_version",
    "model_version": "model_version",
    "policy": "policy",
    "policy_version": "policy",
    "supersedes": "supersedes",
    "supersedes_puid": "supersedes",
    "content_id": "content_id_ean",
    "content_id.EAN-13": "content_id_ean",
}

# Form fields copied into `DecisionIn` as they are, when filled in.
_PLAIN_FIELDS = (
    "puid",
    "decision_type",
    "supersedes",
    *RESTRICTION_FIELDS,
    *GROUND_FIELDS,
    *CATEGORY_FIELDS,
    "decision_facts",
    "internal_notes",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "score",
    "content_type",
    "content_type_other",
    "content_language",
    "territorial_scope",
    "content_date",
    "application_date",
)


def _blank(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", "---------"), *choices]


def _choose(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [CHOOSE, *choices]


# Every key of the vocabulary with its label: what a message that names a key shows instead.
VOCABULARY_LABELS: dict[str, str] = {
    str(value): str(label)
    for choices in (
        DecisionType,
        Visibility,
        Monetary,
        Provision,
        AccountAction,
        AccountType,
        Ground,
        Category,
        Keyword,
        ContentType,
        Source,
        AutomatedDecision,
        Action,
    )
    for value, label in choices.choices
}


def language_name(code: str) -> str:
    """ "German (DE)" for "DE"; the code alone for one we have no name for."""
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code


def country_name(code: str) -> str:
    name = COUNTRY_NAMES.get(code)
    return f"{name} ({code})" if name else code


def _by_name(codes: Iterable[str], name: Any) -> list[tuple[str, str]]:
    """Choices labelled by name and sorted by it, so a moderator finds German under G."""
    return sorted(((code, name(code)) for code in codes), key=lambda choice: choice[1])


def _in_sentence(label: str) -> str:
    """A label inside a sentence: "Illegal content" -> "illegal content", "DSA ..." kept."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


# How a message names a field, where the form's label does not read well inside a sentence or
# the field is not on the form (`DecisionIn` paths). Fields holding a list are plural, so that
# "contains" reads as "include".
_FIELD_WORDS: dict[str, str] = {
    "decision_visibility": "the visibility restrictions",
    "decision_visibility_other": "the other visibility restriction",
    "decision_monetary_other": "the other monetary restriction",
    "end_date_visibility_restriction": "the end of the visibility restriction",
    "end_date_monetary_restriction": "the end of the monetary restriction",
    "end_date_service_restriction": "the end of the service restriction",
    "end_date_account_restriction": "the end of the account restriction",
    "illegal_content_explanation": "the explanation of why the content is illegal",
    "incompatible_content_explanation": "the explanation of why the content is incompatible",
    "incompatible_content_illegal": "“Also considered illegal?”",
    "category_addition": "the additional categories",
    "category_specification": "the keywords",
    "category_specification_other": "the other keyword",
    "decision_facts": "the statement of facts",
    "internal_notes": "the internal notes",
    "automated_detection": "“Detected automatically?”",
    "content_type": "the content types",
    "content_type_other": "the other content type",
    "territorial_scope": "the territorial scope",
    "application_date": "the date it applies from",
    "decided_at": "the decision time",
    "notified_at": "the notification time",
    "policy_version": "the policy version",
    "supersedes_puid": "the puid of the decision it changes",
    "subject": "the affected account or content",
    "supersedes": "the decision it changes",
    "puid": "the decision id (puid)",
    "policy": "the policy",
    "model": "the model",
    "score": "the model score",
    "subject.account": "the affected account id",
    "subject.content": "the affected content id",
    "content_id": "the product EAN-13",
    "content_id.EAN-13": "the product EAN-13",
    "non_field_errors": "the decision",
}
_PLURAL_FIELDS = frozenset(
    {"decision_visibility", "category_addition", "category_specification", "content_type"}
)
# Whole messages whose generic rewording would read badly.
_MESSAGE_WORDS: dict[str, str] = {
    "Only allowed with model and model_version.": "Only allowed with a model version.",
    "Give model and model_version together.": "Choose a model version.",
}
_VOCABULARY_KEY = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
_FIELD_NAME = re.compile(
    r"\b(?:subject\.(?:account|content)|content_id\.EAN-13|[a-z]+(?:_[a-z0-9]+)+)\b"
)
# "A expiry" once a key became its label; not before "u" ("a user").
_A_BEFORE_VOWEL = re.compile(r"\b([Aa]) (?=[aeioAEIO])")
_CONDITION = re.compile(
    r"\b(?P<field>[a-z]+(?:_[a-z0-9]+)+) (?P<verb>is|contains) (?P<value>[A-Z][A-Za-z0-9_]*)\b"
)


def _is_field(name: str) -> bool:
    return (
        name in _FIELD_WORDS
        or name in RecordDecisionForm.base_fields
        or name in DecisionIn.__struct_fields__
    )


def field_words(field: str) -> str:
    """How a sentence names a field: "decision_ground" -> "the ground"."""
    if field in _FIELD_WORDS:
        return _FIELD_WORDS[field]
    form_field = RecordDecisionForm.base_fields.get(field)
    if form_field is not None and form_field.label:
        return f"the {_in_sentence(str(form_field.label))}"
    return field.replace("_", " ")


def _choice_words(field: str, value: str) -> str:
    """A value a condition names, by its label: the field's choice whose key is or ends with it
    (the rules name DECISION_MONETARY_OTHER as plain OTHER)."""
    form_field = RecordDecisionForm.base_fields.get(field)
    for key, label in getattr(form_field, "choices", ()):
        if key and (key == value or str(key).endswith(f"_{value}")):
            return _in_sentence(str(label))
    return _in_sentence(VOCABULARY_LABELS.get(value, value))


def in_words(message: str) -> str:
    """A service's message as the admin says it: fields by what the form calls them and
    vocabulary keys by their labels, never DECISION_GROUND_ILLEGAL_CONTENT or decision_ground.

    "Required when decision_ground is DECISION_GROUND_ILLEGAL_CONTENT." becomes "Required when
    the ground is illegal content."; messages naming neither pass unchanged.
    """
    if message in _MESSAGE_WORDS:
        return _MESSAGE_WORDS[message]

    def condition(match: re.Match[str]) -> str:
        field = match["field"]
        if not _is_field(field):
            return match[0]
        verb = match["verb"]
        if verb == "contains":
            verb = "include" if field in _PLURAL_FIELDS else "includes"
        return f"{field_words(field)} {verb} {_choice_words(field, match['value'])}"

    message = _CONDITION.sub(condition, message)
    # Only known keys and fields: a puid or an id quoted in a message may look like either.
    message = _VOCABULARY_KEY.sub(
        lambda m: _in_sentence(VOCABULARY_LABELS[m[0]]) if m[0] in VOCABULARY_LABELS else m[0],
        message,
    )
    message = _FIELD_NAME.sub(lambda m: field_words(m[0]) if _is_field(m[0]) else m[0], message)
    message = _A_BEFORE_VOWEL.sub(r"\1n ", message)
    return message[:1].upper() + message[1:]


def path_in_words(path: str, message: str) -> str:
    """An error about a field the form does not show, with the field named in words."""
    return in_words(f"{field_words(path)}: {_in_sentence(in_words(message))}")


def _text(label: str, *, max_length: int = 500, help_text: str = "") -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=False, help_text=help_text)


def _long_text(label: str, *, max_length: int, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
    )


def _date(label: str, *, required: bool = False, today: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=AdminDateWidget,
        initial=timezone.localdate if today else None,
    )


def _new_puid() -> str:
    return f"staff-{uuid.uuid4().hex[:16]}"


class PolicyChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Policy) -> str:
        return f"{obj.platform.slug}: {obj.key} v{obj.version} ({obj.title})"


class ModelVersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ModelVersion) -> str:
        return f"{obj.model.platform.slug}: {obj.model.name} {obj.version}"


class RecordDecisionForm(forms.Form):
    """A manual decision, as a moderator records it in the admin."""

    platform = forms.ModelChoiceField(queryset=Platform.objects.all())
    puid = forms.RegexField(
        label="Decision id (puid)",
        regex=PUID_PATTERN,
        max_length=500,
        initial=_new_puid,
        help_text="Unique per platform; letters, digits, - and _. A fresh one is suggested.",
    )
    subject_account = _text(
        "Affected account id",
        help_text="The platform's own id; stored only as a keyed pseudonym.",
    )
    subject_content = _text(
        "Affected content id",
        help_text="The platform's own id; stored only as a keyed pseudonym. Give this, the "
        "account, or both; use the same ids as earlier decisions to join their chain.",
    )
    decision_type = forms.ChoiceField(label="Decision type", choices=_choose(DecisionType.choices))
    supersedes = forms.UUIDField(
        label="Supersedes (decision id)",
        required=False,
        help_text="Required for a reversal or an expiry: the id of the decision it changes.",
    )

    decision_visibility = forms.MultipleChoiceField(
        label="Visibility restrictions",
        choices=Visibility.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    decision_visibility_other = _text("Other visibility restriction")
    end_date_visibility_restriction = _date("Visibility restriction ends")
    decision_monetary = forms.ChoiceField(
        label="Monetary restriction", choices=_blank(Monetary.choices), required=False
    )
    decision_monetary_other = _text("Other monetary restriction")
    end_date_monetary_restriction = _date("Monetary restriction ends")
    decision_provision = forms.ChoiceField(
        label="Service restriction", choices=_blank(Provision.choices), required=False
    )
    end_date_service_restriction = _date("Service restriction ends")
    decision_account = forms.ChoiceField(
        label="Account action", choices=_blank(AccountAction.choices), required=False
    )
    end_date_account_restriction = _date("Account restriction ends")
    account_type = forms.ChoiceField(
        label="Account type", choices=_blank(AccountType.choices), required=False
    )

    decision_ground = forms.ChoiceField(label="Ground", choices=_choose(Ground.choices))
    decision_ground_reference_url = forms.URLField(
        label="Ground reference URL", max_length=500, required=False, assume_scheme="https"
    )
    illegal_content_legal_ground = _text(
        "Legal ground", help_text="For illegal content: the law relied upon."
    )
    illegal_content_explanation = _long_text("Why the content is illegal", max_length=2000)
    incompatible_content_ground = _text(
        "Terms relied upon", help_text="For content incompatible with the terms: the clause."
    )
    incompatible_content_explanation = _long_text(
        "Why the content is incompatible", max_length=2000
    )
    incompatible_content_illegal = forms.ChoiceField(
        label="Also considered illegal?", choices=_blank(YES_NO), required=False
    )
    category = forms.ChoiceField(label="Category", choices=_choose(Category.choices))
    category_addition = forms.MultipleChoiceField(
        label="Additional categories",
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    category_specification = forms.MultipleChoiceField(
        label="Keywords",
        choices=sorted(Keyword.choices, key=lambda choice: str(choice[1])),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    category_specification_other = _text("Other keyword")
    policy = PolicyChoiceField(
        queryset=Policy.objects.select_related("platform"),
        required=False,
        help_text="The platform rule applied, if any.",
    )
    decision_facts = _long_text("Statement of facts (public)", max_length=5000, required=True)
    internal_notes = _long_text("Internal notes (staff only, never published)", max_length=5000)

    source_type = forms.ChoiceField(label="Source", choices=_choose(Source.choices))
    source_identity = _text(
        "Source identity", help_text="Who notified, e.g. a notice or order reference."
    )
    automated_detection = forms.ChoiceField(
        label="Detected automatically?", choices=YES_NO, widget=forms.RadioSelect
    )
    automated_decision = forms.ChoiceField(
        label="Automation of the decision", choices=_choose(AutomatedDecision.choices)
    )
    model_version = ModelVersionChoiceField(
        label="Model version",
        queryset=ModelVersion.objects.select_related("model__platform"),
        required=False,
        help_text="Required when detection or decision was automated.",
    )
    score = forms.FloatField(label="Model score", min_value=0.0, max_value=1.0, required=False)

    content_type = forms.MultipleChoiceField(
        label="Content type",
        choices=ContentType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    content_type_other = _text("Other content type")
    content_language = forms.ChoiceField(
        label="Content language",
        choices=_blank(_by_name(Language.values, language_name)),
        required=False,
    )
    content_id_ean = forms.RegexField(label="Product EAN-13", regex=r"^[0-9]{13}$", required=False)
    territorial_scope = forms.MultipleChoiceField(
        label="Territorial scope",
        choices=_by_name(Country.values, country_name),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Where the decision applies; leave empty for everywhere.",
    )
    # No default: the day the content was posted is a fact the moderator looks up, not today.
    content_date = _date("Content date", required=True)
    application_date = _date("Applies from", required=True, today=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decision: DecisionIn | None = None
        say_invalid_choice_in_words(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        platform: Platform = cleaned["platform"]
        policy: Policy | None = cleaned.get("policy")
        model_version: ModelVersion | None = cleaned.get("model_version")
        if policy is not None and policy.platform_id != platform.pk:
            self.add_error("policy", f"This policy is not one of {platform.slug}'s.")
        if model_version is not None and model_version.model.platform_id != platform.pk:
            self.add_error("model_version", f"This model is not one of {platform.slug}'s.")
        if self.errors:
            return cleaned
        try:
            self.decision = msgspec.convert(self._payload(cleaned), DecisionIn)
        except msgspec.ValidationError as exc:
            self._add_service_errors(field_error(exc))
        return cleaned

    def _payload(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            name: cleaned[name] for name in _PLAIN_FIELDS if cleaned.get(name) not in ("", None, [])
        }
        payload["subject"] = {
            key: cleaned[f"subject_{key}"]
            for key in ("account", "content")
            if cleaned.get(f"subject_{key}")
        }
        if cleaned.get("content_id_ean"):
            payload["content_id"] = {"EAN-13": cleaned["content_id_ean"]}
        policy: Policy | None = cleaned.get("policy")
        if policy is not None:
            payload["policy"] = policy.key
            payload["policy_version"] = policy.version
        model_version: ModelVersion | None = cleaned.get("model_version")
        if model_version is not None:
            payload["model"] = model_version.model.name
            payload["model_version"] = model_version.version
        return payload

    def record(self, *, moderator: _User) -> services.Recorded | None:
        """Record the decision; on refusal, put the reasons on the form and return None."""
        assert self.decision is not None, "record() needs a valid form"
        try:
            return services.record_decision(
                platform=self.cleaned_data["platform"],
                decision=self.decision,
                moderator=moderator,
                require_model_for_automation=True,
            )
        except services.DecisionsRejected as exc:
            self._add_service_errors(exc.errors[0])
        except services.PuidConflict as exc:
            conflict = exc.conflicts[0]
            self.add_error(
                "puid",
                f"Already names another decision ({conflict.existing_id}); choose another id.",
            )
        return None

    def _add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for path, messages in errors.items():
            field = _ERROR_FIELD.get(path, path)
            for message in messages:
                if field in self.fields:
                    self.add_error(field, in_words(message))
                else:
                    self.add_error(None, path_in_words(path, message))


def say_invalid_choice_in_words(form: forms.Form) -> None:
    """A posted value that is not on offer is refused without echoing it: a hand-made request
    could otherwise put any text, or a raw key, in the page's error."""
    for field in form.fields.values():
        # ModelChoiceField is a ChoiceField too; ModelMultipleChoiceField is neither's.
        if isinstance(field, forms.ChoiceField | forms.ModelMultipleChoiceField):
            field.error_messages["invalid_choice"] = "Choose one of the options offered."


class ReverseDecisionForm(forms.Form):
    """Overturn a decision: `services.reverse_decision` copies everything else from it."""

    reason = forms.CharField(
        label="Reason",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Shown to the person the decision affects, and published as the facts.",
    )

    def record(self, *, decision: Decision, moderator: _User) -> services.Recorded | None:
        """The reversal, or None with the service's refusal on the form."""
        try:
            return services.reverse_decision(
                decision=decision, reason=self.cleaned_data["reason"], moderator=moderator
            )
        except services.ReversalRefused as refused:
            self.add_error(None, refused.message)
        except services.PuidConflict:
            self.add_error(None, "This decision was already reversed with another reason.")
        except services.DecisionsRejected as rejected:
            for path, messages in rejected.errors[0].items():
                for message in messages:
                    self.add_error(None, path_in_words(path, message))
        return None


class IssueApiKeyForm(forms.Form):
    platform = forms.ModelChoiceField(queryset=Platform.objects.all())
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        required=False,
        help_text="A label to tell keys apart, e.g. the system that uses it.",
    )


class RegisterPolicyForm(forms.Form):
    platform = forms.ModelChoiceField(queryset=Platform.objects.all())
    key = forms.SlugField(max_length=100, help_text="Stable across versions, e.g. hate-speech.")
    version = forms.IntegerField(
        min_value=1,
        required=False,
        help_text="Leave empty to register the next version of this key.",
    )
    title = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=_choose(Category.choices))
    ground = forms.ChoiceField(choices=_choose(Ground.choices))
    clause = forms.CharField(
        max_length=500, help_text="The terms-of-service clause or the law relied upon."
    )
    url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    summary = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80})
    )


class RegisterModelVersionForm(forms.Form):
    platform = forms.ModelChoiceField(queryset=Platform.objects.all())
    name = forms.SlugField(
        label="Model name", max_length=100, help_text="Created on its first version."
    )
    version = forms.CharField(max_length=64)
    released_at = forms.DateField(
        label="Released", widget=AdminDateWidget, initial=timezone.localdate
    )
    threshold = forms.FloatField(
        min_value=0.0, max_value=1.0, help_text="The score from which the model acts."
    )
    card_url = forms.URLField(
        label="Model card URL", max_length=500, required=False, assume_scheme="https"
    )


class EuForwardingForm(forms.Form):
    platform = forms.ModelChoiceField(queryset=Platform.objects.all())
    api_token = forms.CharField(
        label="EU API token",
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again.",
    )
    endpoint = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Empty: the EU's production API (LEDGER_EU_API_URL); the sandbox's to test.",
        # The token goes there: https on public addresses only (as the API checks).
        validators=[forwarding.validate_endpoint],
    )
    enabled = forms.BooleanField(required=False, initial=True)
