"""The EU DSA Transparency Database's statement of reasons: its validation, its JSON and CSV.

Platforms already send every statement of reasons to the Commission; this module lets them point
the same client at the ledger. Validation follows the EU's own rules and messages (Laravel's
`StatementStoreRequest`, see ../shared/reference/dsa-statement-of-reasons.md): every field is
checked and every error reported at once, as `{"field": ["The ... field is required."]}`;
fields the EU excludes (`exclude_unless`) are dropped silently; unknown fields are ignored.

Our optional extras: `model`, `model_version`, `score` (a registered model version) and
`subject` (the platform's own id of the affected content or account, or
`{"account": ..., "content": ...}`), pseudonymised on arrival like every subject.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections import Counter
from typing import Any, TypeVar

import msgspec

from moderation import statement_rules as table
from moderation.models import Decision
from moderation.schemas import ContentId, DecisionIn, Subject
from moderation.vocabulary import (
    AccountAction,
    AccountType,
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

EU_BATCH_LIMIT = 100
T = TypeVar("T")

# The EU's own keys. Ours (the silent visibility restrictions, community reports, legal orders)
# are not accepted on this API, and are mapped to the EU's OTHER keys on export.
EU_VISIBILITY = frozenset(
    {
        Visibility.CONTENT_REMOVED,
        Visibility.CONTENT_DISABLED,
        Visibility.CONTENT_DEMOTED,
        Visibility.CONTENT_AGE_RESTRICTED,
        Visibility.CONTENT_INTERACTION_RESTRICTED,
        Visibility.CONTENT_LABELLED,
        Visibility.OTHER,
    }
)
EU_SOURCES = frozenset(
    {Source.ARTICLE_16, Source.TRUSTED_FLAGGER, Source.OTHER_NOTIFICATION, Source.VOLUNTARY}
)
_VISIBILITY_BY_KEY = {v.value: v for v in EU_VISIBILITY}
_SOURCE_BY_KEY = {s.value: s for s in EU_SOURCES}
_CATEGORIES = {c.value: c for c in Category}
_KEYWORDS = {k.value: k for k in Keyword}
_CONTENT_TYPES = {c.value: c for c in ContentType}
_COUNTRIES = {c.value: c for c in Country}
_LANGUAGES = {c.value: c for c in Language}
_MONETARY = {m.value: m for m in Monetary}
_PROVISION = {p.value: p for p in Provision}
_ACCOUNT = {a.value: a for a in AccountAction}
_ACCOUNT_TYPES = {a.value: a for a in AccountType}
_GROUNDS = {g.value: g for g in Ground}
_AUTOMATED = {a.value: a for a in AutomatedDecision}

# Used with fullmatch: `$` would also match before a final newline ("abc\n"); the EU's own
# pattern carries PCRE's D modifier for the same reason. The bounds are the table's
# (moderation.statement_rules), read at call time by the checks below.
PUID = re.compile(table.PUID_PATTERN)
PUID_MAX_LENGTH = table.PUID_MAX_LENGTH
EAN13 = re.compile(table.EAN13_PATTERN)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MIN_CONTENT_DATE = table.MIN_CONTENT_DATE
MIN_APPLICATION_DATE = table.MIN_APPLICATION_DATE
MAX_DATE = table.MAX_DATE

# Laravel's `url` rule (Illuminate\Support\Str::isUrl, derived from Symfony's UrlValidator):
# one of the IANA schemes it lists, `://`, an optional user, a host (domain, IPv4 or bracketed
# IPv6), an optional port, then path, query and fragment made of the characters it allows.
# Python's `re` has no \pL / \pN classes: `[^\W_]` (a letter or a digit) stands in for them.
_URL_SCHEMES = (
    "aaa|aaas|about|acap|acct|acd|acr|adiumxtra|adt|afp|afs|aim|amss|android|appdata|apt|ark|"
    "attachment|aw|barion|beshare|bitcoin|bitcoincash|blob|bolo|browserext|calculator|callto|"
    "cap|cast|casts|chrome|chrome-extension|cid|coap|coap\\+tcp|coap\\+ws|coaps|coaps\\+tcp|"
    "coaps\\+ws|com-eventbrite-attendee|content|conti|crid|cvs|dab|data|dav|diaspora|dict|did|"
    "dis|dlna-playcontainer|dlna-playsingle|dns|dntp|dpp|drm|drop|dtn|dvb|ed2k|elsi|example|"
    "facetime|fax|feed|feedready|file|filesystem|finger|first-run-pen-experience|fish|fm|ftp|"
    "fuchsia-pkg|geo|gg|git|gizmoproject|go|gopher|graph|gtalk|h323|ham|hcap|hcp|http|https|"
    "hxxp|hxxps|hydrazone|iax|icap|icon|im|imap|info|iotdisco|ipn|ipp|ipps|irc|irc6|ircs|iris|"
    "iris\\.beep|iris\\.lwz|iris\\.xpc|iris\\.xpcs|isostore|itms|jabber|jar|jms|keyparc|lastfm|"
    "ldap|ldaps|leaptofrogans|lorawan|lvlt|magnet|mailserver|mailto|maps|market|message|mid|mms|"
    "modem|mongodb|moz|ms-access|ms-browser-extension|ms-calculator|ms-drive-to|ms-enrollment|"
    "ms-excel|ms-eyecontrolspeech|ms-gamebarservices|ms-gamingoverlay|ms-getoffice|ms-help|"
    "ms-infopath|ms-inputapp|ms-lockscreencomponent-config|ms-media-stream-id|"
    "ms-mixedrealitycapture|ms-mobileplans|ms-officeapp|ms-people|ms-project|ms-powerpoint|"
    "ms-publisher|ms-restoretabcompanion|ms-screenclip|ms-screensketch|ms-search|"
    "ms-search-repair|ms-secondary-screen-controller|ms-secondary-screen-setup|ms-settings|"
    "ms-settings-airplanemode|ms-settings-bluetooth|ms-settings-camera|ms-settings-cellular|"
    "ms-settings-cloudstorage|ms-settings-connectabledevices|ms-settings-displays-topology|"
    "ms-settings-emailandaccounts|ms-settings-language|ms-settings-location|ms-settings-lock|"
    "ms-settings-nfctransactions|ms-settings-notifications|ms-settings-power|"
    "ms-settings-privacy|ms-settings-proximity|ms-settings-screenrotation|ms-settings-wifi|"
    "ms-settings-workplace|ms-spd|ms-sttoverlay|ms-transit-to|ms-useractivityset|"
    "ms-virtualtouchpad|ms-visio|ms-walk-to|ms-whiteboard|ms-whiteboard-cmd|ms-word|msnim|msrp|"
    "msrps|mss|mtqp|mumble|mupdate|mvn|news|nfs|ni|nih|nntp|notes|ocf|oid|onenote|onenote-cmd|"
    "opaquelocktoken|openpgp4fpr|pack|palm|paparazzi|payto|pkcs11|platform|pop|pres|prospero|"
    "proxy|pwid|psyc|pttp|qb|query|redis|rediss|reload|res|resource|rmi|rsync|rtmfp|rtmp|rtsp|"
    "rtsps|rtspu|s3|secondlife|service|session|sftp|sgn|shttp|sieve|simpleledger|sip|sips|skype|"
    "smb|sms|smtp|snews|snmp|soap\\.beep|soap\\.beeps|soldat|spiffe|spotify|ssh|steam|stun|"
    "stuns|submit|svn|tag|teamspeak|tel|teliaeid|telnet|tftp|tg|things|thismessage|tip|tn3270|"
    "tool|ts3server|turn|turns|tv|udp|unreal|urn|ut2004|v-event|vemmi|ventrilo|videotex|vnc|"
    "view-source|wais|webcal|wpid|ws|wss|wtai|wyciwyg|xcon|xcon-userid|xfire|xmlrpc\\.beep|"
    "xmlrpc\\.beeps|xmpp|xri|ymsgr|z39\\.50|z39\\.50r|z39\\.50s"
)
_ALNUM = r"[^\W_]"
_PCT = r"%[0-9A-Fa-f]{2}"
_URL = re.compile(
    rf"(?:{_URL_SCHEMES})://"
    rf"(?:(?:(?:[_.-]|{_ALNUM}|{_PCT})+:)?(?:[_.-]|{_ALNUM}|{_PCT})+@)?"
    r"(?:"
    r"(?:(?:[^\s\x00-\x1f\x7f.!\"#$%&'()*+,/:;<=>?@\[\\\]^`{|}~]|[$+<=>^`|~])+\.)+"
    rf"(?:xn--[a-z0-9-]+|{_ALNUM}+)\.?"
    r"|[a-z0-9_-]+\.?"
    r"|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
    r"|\[(?P<ipv6>[0-9a-f:.]+)\]"
    r")"
    r"(?::[0-9]+)?"
    rf"(?:/(?:[-._~!$&'()*+,;=:@]|{_ALNUM}|{_PCT})*)*"
    rf"(?:\?(?:[-._~!$&'\[\]()*+,;=:@/?]|{_ALNUM}|{_PCT})*)?"
    rf"(?:\#(?:[-._~!$&'()*+,;=:@/?]|{_ALNUM}|{_PCT})*)?",
    re.IGNORECASE,
)


def is_url(value: str) -> bool:
    """Laravel's `url` rule, the one the EU applies to decision_ground_reference_url."""
    match = _URL.fullmatch(value)
    if match is None:
        return False
    if match.group("ipv6") is not None:
        try:
            ipaddress.IPv6Address(match.group("ipv6"))
        except ValueError:
            return False
    return True


def is_puid(value: object) -> bool:
    """The EU's puid rule: 1 to 500 of `a-z A-Z 0-9 - _`, and nothing else (no final newline)."""
    return (
        isinstance(value, str)
        and len(value) <= table.PUID_MAX_LENGTH
        and PUID.fullmatch(value) is not None
    )


class StatementErrors(Exception):
    """Statements that do not validate; `errors` maps an index to Laravel-style field errors."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]) -> None:
        super().__init__(f"{len(errors)} statement(s) invalid")
        self.errors = errors


# What Laravel's TrimStrings middleware strips (Str::trim: PCRE's \s, a byte-order mark, a
# zero-width space, a left-to-right mark). The EU trims every string, then takes an empty one
# as absent (ConvertEmptyStringsToNull): a text of nothing but these is no text. Other strings
# are kept exactly as sent.
_TRIMMED = " \t\n\v\f\r\ufeff\u200b\u200e"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip(_TRIMMED))


def _name(field: str) -> str:
    return field.replace("_", " ")


class _Checker:
    """Collects every error of one statement, in the EU's words."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def present(self, field: str) -> bool:
        value = self.raw.get(field)
        return not _blank(value) and value != []

    def text(self, field: str, max_length: int, *, required: bool = False) -> str | None:
        value = self.raw.get(field)
        if _blank(value):
            if required:
                self.add(field, f"The {_name(field)} field is required.")
            return None
        if not isinstance(value, str):
            self.add(field, f"The {_name(field)} field must be a string.")
            return None
        if len(value) > max_length:
            self.add(
                field,
                f"The {_name(field)} field must not be greater than {max_length} characters.",
            )
            return None
        if "\x00" in value:
            # PostgreSQL text cannot hold NUL: refused here rather than failing at the insert.
            self.add(field, f"The {_name(field)} field must not contain NUL characters.")
            return None
        return value

    def choice(self, field: str, table: dict[str, T], *, required: bool = False) -> T | None:
        value = self.raw.get(field)
        if _blank(value):
            if required:
                self.add(field, f"The {_name(field)} field is required.")
            return None
        if not isinstance(value, str) or value not in table:
            self.add(field, f"The selected {_name(field)} is invalid.")
            return None
        return table[value]

    def choices(self, field: str, table: dict[str, T], *, required: bool = False) -> list[T]:
        value = self.raw.get(field)
        if value is None or value == []:
            if required:
                self.add(field, f"The {_name(field)} field is required.")
            return []
        if not isinstance(value, list):
            self.add(field, f"The {_name(field)} field must be an array.")
            return []
        if not all(isinstance(v, str) and v in table for v in value):
            self.add(field, f"The selected {_name(field)} is invalid.")
            return []
        return sorted({table[v] for v in value})  # type: ignore[type-var]

    def date(self, field: str, low: dt.date | None, *, required: bool = False) -> dt.date | None:
        value = self.raw.get(field)
        if _blank(value):
            if required:
                self.add(field, f"The {_name(field)} field is required.")
            return None
        try:
            # Only YYYY-MM-DD: fromisoformat alone also takes week dates ("2026-W01-1").
            if not isinstance(value, str) or DATE.fullmatch(value) is None:
                raise ValueError
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            self.add(field, _DATE_FORMAT_MESSAGES[field])
            return None
        if low is not None and parsed < low:
            self.add(field, f"The {_name(field)} field must be a date after or equal to {low}.")
            return None
        if parsed > table.MAX_DATE:
            self.add(
                field,
                f"The {_name(field)} field must be a date before or equal to {table.MAX_DATE}.",
            )
            return None
        return parsed

    def yes_no(self, field: str, *, required: bool = False) -> str | None:
        return self.choice(field, {"Yes": "Yes", "No": "No"}, required=required)


# The EU's own messages for its date formats (StatementStoreRequest::messages).
_DATE_FORMAT_MESSAGES = {
    "content_date": "The content date does not match the format YYYY-MM-DD.",
    "application_date": "The application date does not match the format YYYY-MM-DD.",
    "end_date_account_restriction": (
        "The end date of account restriction does not match the format YYYY-MM-DD."
    ),
    "end_date_monetary_restriction": (
        "The end date of monetary restriction does not match the format YYYY-MM-DD."
    ),
    "end_date_service_restriction": (
        "The end date of service restriction does not match the format YYYY-MM-DD."
    ),
    "end_date_visibility_restriction": (
        "The end date of visibility restriction does not match the format YYYY-MM-DD."
    ),
}


def check_statement(
    raw: Any, *, batch: bool = False
) -> tuple[DecisionIn | None, dict[str, list[str]]]:
    """Validate one statement as the EU does; return the decision it records, or the errors.

    `batch` applies what the EU's batch endpoint adds (GroupedSubmissionsService): it drops
    category_specification_other unless category_specification contains KEYWORD_OTHER. The
    EU's single endpoint keeps it, and so does ours.
    """
    if not isinstance(raw, dict):
        return None, {"statement": ["The statement must be an object."]}
    c = _Checker(raw)

    puid = c.text("puid", table.TEXT_MAX_LENGTH["puid"], required=True)
    if puid is not None and PUID.fullmatch(puid) is None:
        c.add("puid", "The puid format is invalid.")

    visibility = c.choices("decision_visibility", _VISIBILITY_BY_KEY)
    monetary = c.choice("decision_monetary", _MONETARY)
    provision = c.choice("decision_provision", _PROVISION)
    account = c.choice("decision_account", _ACCOUNT)
    restrictions = table.RESTRICTIONS
    if not any(c.present(f) for f in restrictions.fields):
        for field in restrictions.fields:
            c.add(field, restrictions.eu_required(field))
    values: dict[str, Any] = {
        "decision_visibility": visibility,
        "decision_monetary": monetary,
    }
    visibility_other = _conditional_text(c, table.VISIBILITY_OTHER, values)
    monetary_other = _conditional_text(c, table.MONETARY_OTHER, values)
    end_visibility, end_monetary, end_service, end_account = [
        c.date(end_field, None) for end_field, _ in table.END_DATES
    ]
    account_type = c.choice("account_type", _ACCOUNT_TYPES)

    ground = c.choice("decision_ground", _GROUNDS, required=True)
    reference_url = c.text("decision_ground_reference_url", 500)
    if reference_url is not None and not is_url(reference_url):
        c.add(
            "decision_ground_reference_url",
            "The decision ground reference url field must be a valid URL.",
        )
    values["decision_ground"] = ground
    legal_ground, illegal_explanation, incompatible_ground, incompatible_explanation = [
        _conditional_text(c, rule, values) for rule in table.GROUND_TEXTS
    ]
    incompatible_illegal = (
        c.yes_no("incompatible_content_illegal")
        # The EU keeps it only for incompatible content: not for illegal content, nor when the
        # ground itself is missing or invalid.
        if ground is not None and not table.INCOMPATIBLE_ILLEGAL.when.holds(ground)
        else None
    )

    category = c.choice("category", _CATEGORIES, required=True)
    category_addition = c.choices("category_addition", _CATEGORIES)
    keywords = c.choices("category_specification", _KEYWORDS)
    keywords_other = c.text(
        "category_specification_other", table.TEXT_MAX_LENGTH["category_specification_other"]
    )
    if batch and Keyword.OTHER not in keywords:
        keywords_other = None

    content_type = c.choices("content_type", _CONTENT_TYPES, required=True)
    values["content_type"] = content_type
    content_type_other = _conditional_text(c, table.CONTENT_TYPE_OTHER, values)
    language = c.choice("content_language", _LANGUAGES)
    content_date = c.date("content_date", table.date_bounds("content_date")[0], required=True)
    content_id = _content_id(c)
    scope = c.choices("territorial_scope", _COUNTRIES)
    application_date = c.date(
        "application_date", table.date_bounds("application_date")[0], required=True
    )
    facts = c.text("decision_facts", table.TEXT_MAX_LENGTH["decision_facts"], required=True)
    source = c.choice("source_type", _SOURCE_BY_KEY, required=True)
    # Checked whatever the source, as the EU's batch endpoint checks it (its single endpoint
    # excludes it first), then dropped for the platform's own initiative.
    source_identity = c.text("source_identity", table.TEXT_MAX_LENGTH["source_identity"])
    if table.SOURCE_IDENTITY.when.holds(source):
        source_identity = None
    detection = c.yes_no("automated_detection", required=True)
    automated = c.choice("automated_decision", _AUTOMATED, required=True)

    model = c.text("model", table.TEXT_MAX_LENGTH["model"])
    model_version = c.text("model_version", table.TEXT_MAX_LENGTH["model_version"])
    score = _score(c)
    subject = _subject(c)

    if c.errors:
        return None, c.errors
    assert puid is not None and ground is not None and category is not None
    assert content_date is not None and application_date is not None and facts is not None
    assert source is not None and detection is not None and automated is not None
    return (
        DecisionIn(
            puid=puid,
            subject=subject,
            decision_type=DecisionType.RESTRICTION,
            decision_visibility=visibility,
            decision_visibility_other=visibility_other,
            end_date_visibility_restriction=end_visibility,
            decision_monetary=monetary,
            decision_monetary_other=monetary_other,
            end_date_monetary_restriction=end_monetary,
            decision_provision=provision,
            end_date_service_restriction=end_service,
            decision_account=account,
            end_date_account_restriction=end_account,
            account_type=account_type,
            decision_ground=ground,
            decision_ground_reference_url=reference_url,
            illegal_content_legal_ground=legal_ground,
            illegal_content_explanation=illegal_explanation,
            incompatible_content_ground=incompatible_ground,
            incompatible_content_explanation=incompatible_explanation,
            incompatible_content_illegal=incompatible_illegal,  # type: ignore[arg-type]
            category=category,
            category_addition=category_addition,
            category_specification=keywords,
            category_specification_other=keywords_other,
            source_type=source,
            source_identity=source_identity,
            automated_detection=detection,  # type: ignore[arg-type]
            automated_decision=automated,
            model=model,
            model_version=model_version,
            score=score,
            decision_facts=facts,
            content_type=content_type,
            content_type_other=content_type_other,
            content_language=language,
            content_id=content_id,
            territorial_scope=scope,
            content_date=content_date,
            application_date=application_date,
        ),
        {},
    )


def check_statements(
    items: list[Any],
) -> tuple[list[DecisionIn], dict[str, dict[str, list[str]]], list[str]]:
    """A batch, as the EU checks it: each statement's errors keyed `statement_N`, then the
    puids the batch repeats (refused as a whole, before anything is looked up)."""
    decisions: list[DecisionIn] = []
    errors: dict[str, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        decision, item_errors = check_statement(item, batch=True)
        if decision is None:
            errors[f"statement_{index}"] = item_errors
        else:
            decisions.append(decision)
    counts = Counter(d.puid for d in decisions)
    repeated = sorted(puid for puid, n in counts.items() if n > 1)
    return decisions, errors, repeated


def _conditional_text(c: _Checker, rule: table.RequiredIf, values: dict[str, Any]) -> str | None:
    """`required_if` + `exclude_unless`: required when it applies, silently dropped otherwise.
    `values` holds what the statement's other fields were read as."""
    when = rule.when
    actual = values[when.field]
    # `When.holds`, inlined: this runs seven times for every statement of a batch.
    if not (
        (actual is not None and when.value in actual) if when.contains else actual == when.value
    ):
        return None
    if not c.present(rule.field):
        c.add(rule.field, rule.eu_required())
        return None
    return c.text(rule.field, rule.max_length)


def _content_id(c: _Checker) -> ContentId | None:
    value = c.raw.get("content_id")
    if _blank(value):
        return None
    if not isinstance(value, dict) or set(value) != {"EAN-13"}:
        c.add("content_id", 'The content id field must be an object with the key "EAN-13".')
        return None
    ean = value["EAN-13"]
    if not isinstance(ean, str) or EAN13.fullmatch(ean) is None:
        c.add("content_id.EAN-13", "The content id.EAN-13 field format is invalid.")
        return None
    return ContentId(ean_13=ean)


def _score(c: _Checker) -> float | None:
    value = c.raw.get("score")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        c.add("score", "The score field must be a number between 0 and 1.")
        return None
    if c.raw.get("model") is None or c.raw.get("model_version") is None:
        c.add("score", "The score field requires model and model version.")
    return float(value)


def _subject(c: _Checker) -> Subject:
    value = c.raw.get("subject")
    if value is None:
        return Subject()
    if isinstance(value, str) and 0 < len(value) <= 500 and "\x00" not in value:
        # A bare id names the account when the statement restricts only the account or the
        # service, and the content otherwise.
        about_account = not c.present("decision_visibility") and (
            c.present("decision_account") or c.present("decision_provision")
        )
        return Subject(account=value) if about_account else Subject(content=value)
    try:
        subject = msgspec.convert(value, Subject)
    except msgspec.ValidationError:
        subject = None
    if subject is None or "\x00" in (subject.account or "") + (subject.content or ""):
        c.add(
            "subject",
            'The subject field must be an id, or an object with "account" and/or "content" ids.',
        )
        return Subject()
    return subject


# --- export ---------------------------------------------------------------------------------


class NotAStatement(Exception):
    """Flags, no-action decisions, reversals and expiries have no DSA statement of reasons."""


_OUR_VISIBILITY_LABELS = {
    Visibility.SEARCH_EXCLUDED.value: "Excluded from search",
    Visibility.RECOMMENDATIONS_EXCLUDED.value: "Excluded from recommendations",
    Visibility.HIDDEN_FROM_NON_FOLLOWERS.value: "Hidden from non-followers",
}
_OUR_SOURCE_LABELS = {
    Source.COMMUNITY_REPORT.value: "Community report",
    Source.LEGAL_ORDER.value: "Legal order",
}


def statement_of(decision: Decision) -> dict[str, Any]:
    """The decision as the EU's statement of reasons; our own keys mapped to the EU's OTHERs."""
    if decision.decision_type != DecisionType.RESTRICTION:
        raise NotAStatement(
            f"A {decision.decision_type} carries no restriction, so it has no statement of reasons."
        )
    visibility = list(decision.decision_visibility)
    visibility_other = decision.decision_visibility_other
    ours = [_OUR_VISIBILITY_LABELS[v] for v in visibility if v in _OUR_VISIBILITY_LABELS]
    if ours:
        visibility = [v for v in visibility if v not in _OUR_VISIBILITY_LABELS]
        if Visibility.OTHER.value not in visibility:
            visibility.append(Visibility.OTHER.value)
        visibility_other = "; ".join([*ours, *([visibility_other] if visibility_other else [])])
        visibility.sort()
    source = decision.source_type
    source_identity = decision.source_identity
    if source in _OUR_SOURCE_LABELS:
        label = _OUR_SOURCE_LABELS[source]
        source = Source.OTHER_NOTIFICATION.value
        source_identity = f"{label}: {source_identity}" if source_identity else label

    def date(value: dt.date | None) -> str | None:
        return value.isoformat() if value is not None else None

    statement: dict[str, Any] = {
        "uuid": str(decision.public_id),
        "puid": decision.puid,
        # The EU's model casts every array field to an array: [] when empty, never null.
        "decision_visibility": visibility,
        "decision_visibility_other": visibility_other or None,
        "end_date_visibility_restriction": date(decision.end_date_visibility_restriction),
        "decision_monetary": decision.decision_monetary or None,
        "decision_monetary_other": decision.decision_monetary_other or None,
        "end_date_monetary_restriction": date(decision.end_date_monetary_restriction),
        "decision_provision": decision.decision_provision or None,
        "end_date_service_restriction": date(decision.end_date_service_restriction),
        "decision_account": decision.decision_account or None,
        "end_date_account_restriction": date(decision.end_date_account_restriction),
        "account_type": decision.account_type or None,
        "decision_ground": decision.decision_ground,
        "decision_ground_reference_url": decision.decision_ground_reference_url or None,
        "illegal_content_legal_ground": decision.illegal_content_legal_ground or None,
        "illegal_content_explanation": decision.illegal_content_explanation or None,
        "incompatible_content_ground": decision.incompatible_content_ground or None,
        "incompatible_content_explanation": decision.incompatible_content_explanation or None,
        "incompatible_content_illegal": (
            None
            if decision.incompatible_content_illegal is None
            else ("Yes" if decision.incompatible_content_illegal else "No")
        ),
        "category": decision.category,
        "category_addition": list(decision.category_addition),
        "category_specification": list(decision.category_specification),
        "category_specification_other": decision.category_specification_other or None,
        "content_type": list(decision.content_type),
        "content_type_other": decision.content_type_other or None,
        "content_language": decision.content_language or None,
        "content_date": date(decision.content_date),
        "content_id": {"EAN-13": decision.content_id_ean} if decision.content_id_ean else None,
        "territorial_scope": list(decision.territorial_scope),
        "application_date": date(decision.application_date),
        "decision_facts": decision.decision_facts,
        "source_type": source,
        "source_identity": source_identity or None,
        "automated_detection": "Yes" if decision.automated_detection else "No",
        "automated_decision": decision.automated_decision,
        "created_at": decision.created_at.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return statement


def submission_of(decision: Decision) -> dict[str, Any]:
    """The body the EU's API takes for this decision: the statement without server fields."""
    statement = statement_of(decision)
    for server_field in ("uuid", "created_at"):
        del statement[server_field]
    return {k: v for k, v in statement.items() if v is not None and v != []}


# The columns of the EU's daily dump ("sor-YYYY-MM-DD-full.csv"), in its order.
CSV_COLUMNS = (
    "uuid",
    "decision_visibility",
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
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "content_type",
    "content_type_other",
    "content_language",
    "content_date",
    "content_id_ean",
    "territorial_scope",
    "application_date",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "platform_name",
    "platform_uid",
    "created_at",
)
_DATE_COLUMNS = frozenset(
    {
        "end_date_visibility_restriction",
        "end_date_monetary_restriction",
        "end_date_service_restriction",
        "end_date_account_restriction",
        "content_date",
        "application_date",
    }
)
_ARRAY_COLUMNS = frozenset(
    {
        "decision_visibility",
        "category_addition",
        "category_specification",
        "content_type",
        "territorial_scope",
    }
)


def csv_row(decision: Decision) -> list[str]:
    """One row of the EU's daily dump: arrays as JSON, dates as the EU's timestamps, one line."""
    statement = statement_of(decision)
    statement["content_id_ean"] = decision.content_id_ean
    statement["platform_name"] = decision.platform.name
    statement["platform_uid"] = decision.puid
    row = []
    for column in CSV_COLUMNS:
        value = statement.get(column)
        if value is None:
            row.append("")
        elif column in _ARRAY_COLUMNS:
            row.append(msgspec.json.encode(value).decode())
        elif column in _DATE_COLUMNS:
            row.append(f"{value} 00:00:00")
        else:
            row.append(re.sub(r"[\r\n]+", " ", str(value)).strip())
    return row
