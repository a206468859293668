"""Public pages (floor 5): what a creator, a notifier or an auditor opens in a browser.

The notice page speaks to a person, not an engineer: what was decided about them in plain
words first, then why, how, for how long and where, then what they can do and by when. The
sentences are built here from the decision's recorded fields (never from free text the page
invents), so the page says exactly what the record says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from appeals.disputes import disputes_for_notice
from appeals.models import MAX_STATEMENT_LENGTH, Appeal, AppealStatus, Appellant
from appeals.notice import Holder, appeal_answer, holder_of, own_appeal, was_escalated
from appeals.services import AppealRejected, appeal_window_closes, file_appeal
from ledger import log
from ledger.public import LICENCE, LICENCE_URL
from moderation.models import Decision, Platform
from moderation.selectors import decision_chain
from moderation.vocabulary import (
    CHANGING_TYPES,
    COUNTRY_NAMES,
    SILENT_VISIBILITY,
    AccountAction,
    Action,
    AutomatedDecision,
    ContentType,
    DecisionType,
    Ground,
    Keyword,
    Monetary,
    Provision,
    Source,
    Visibility,
)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The way in for every reader: a creator with a notice link, an auditor or researcher
    (statistics, the DSA report, downloads, the log and how to check it), a platform (the API).
    Two small reads: the latest checkpoint and the platforms, never the decision tables."""
    latest = log.latest_checkpoint()
    base_url = settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    return render(
        request,
        "ledger/home.html",
        {
            "checkpoint": latest,
            "platforms": list(Platform.objects.order_by("name").values_list("slug", "name")),
            "base_url": base_url,
            "licence": LICENCE,
            "licence_url": LICENCE_URL,
            "appeal_days": settings.LEDGER_APPEAL_WINDOW_DAYS,
            "decision_days": settings.LEDGER_APPEAL_DECISION_DAYS,
        },
    )


# --- plain words ----------------------------------------------------------------------------

_NOUNS = {
    ContentType.VIDEO: "video",
    ContentType.IMAGE: "image",
    ContentType.TEXT: "post",
    ContentType.AUDIO: "recording",
    ContentType.APP: "app",
    ContentType.PRODUCT: "product listing",
    ContentType.SYNTHETIC_MEDIA: "media",
    ContentType.OTHER: "content",
}


# What each visibility restriction means to the person, with {thing} ("your video", "the
# video") and {followers} ("your followers", "the account's followers").
_VISIBILITY = {
    Visibility.CONTENT_REMOVED: "{Thing} was removed.",
    Visibility.CONTENT_DISABLED: "{Thing} was disabled: people can no longer open it.",
    Visibility.CONTENT_DEMOTED: "{Thing} is shown to fewer people: it is ranked lower in feeds "
    "and lists.",
    Visibility.CONTENT_AGE_RESTRICTED: "{Thing} is shown only to people old enough to see it.",
    Visibility.CONTENT_INTERACTION_RESTRICTED: "People can no longer comment on, share or "
    "otherwise interact with {thing} as before.",
    Visibility.CONTENT_LABELLED: "{Thing} is shown with a label or a warning.",
    Visibility.SEARCH_EXCLUDED: "{Thing} is not shown in search.",
    Visibility.RECOMMENDATIONS_EXCLUDED: "{Thing} is not recommended to other people.",
    Visibility.HIDDEN_FROM_NON_FOLLOWERS: "Only {followers} can see {thing}.",
    Visibility.OTHER: "Who can see {thing} is restricted",
}
_MONETARY = {
    Monetary.SUSPENSION: "Payments to {payee} (for example a share of advertising income) are "
    "suspended.",
    Monetary.TERMINATION: "Payments to {payee} (for example a share of advertising income) are "
    "stopped.",
    Monetary.OTHER: "Payments to {payee} are restricted",
}
_PROVISION = {
    Provision.PARTIAL_SUSPENSION: "{platform} suspended part of its service for {payee}.",
    Provision.TOTAL_SUSPENSION: "{platform} suspended its whole service for {payee}.",
    Provision.PARTIAL_TERMINATION: "{platform} ended part of its service for {payee}.",
    Provision.TOTAL_TERMINATION: "{platform} ended its whole service for {payee}.",
}
_ACCOUNT = {
    AccountAction.SUSPENDED: "{Account} is suspended.",
    AccountAction.TERMINATED: "{Account} is closed for good.",
}
# The headline when a decision has several effects (or when it speaks to a notifier).
_HEADLINES = {
    Action.FLAG: "{platform} flagged {thing}",
    Action.NO_ACTION: "{platform} took no action against {thing}",
    Action.VISIBILITY: "{platform} limited who can see {thing}",
    Action.REMOVAL: "{platform} removed {thing}",
    Action.MONETARY: "{platform} restricted payments to {payee}",
    Action.SERVICE: "{platform} suspended or ended its service for {payee}",
    Action.ACCOUNT_SUSPENSION: "{platform} suspended {account}",
    Action.ACCOUNT_TERMINATION: "{platform} closed {account}",
    Action.REVERSAL: "{platform} reversed an earlier decision about {thing}",
    Action.EXPIRY: "A restriction of {thing} has ended",
}
_FOUND_BY = {
    Source.ARTICLE_16: "Someone reported it to {platform} (a notice under Article 16 of the EU "
    "Digital Services Act).",
    Source.TRUSTED_FLAGGER: "A trusted flagger (an organisation recognised under the EU Digital "
    "Services Act) reported it.",
    Source.OTHER_NOTIFICATION: "It was reported to {platform}.",
    Source.VOLUNTARY: "{platform} found it itself.",
    Source.COMMUNITY_REPORT: "Other users reported it.",
    Source.LEGAL_ORDER: "An authority ordered {platform} to act (a legal order).",
}
_DECIDED_BY = {
    AutomatedDecision.FULLY: "A machine decided, without a person checking.",
    AutomatedDecision.PARTIALLY: "A machine and a person decided together.",
    AutomatedDecision.NOT_AUTOMATED: "A person decided.",
}
_OUTCOMES = {
    Appellant.SUBJECT: {
        AppealStatus.UPHELD: "Your appeal did not succeed: the decision stands.",
        AppealStatus.OVERTURNED: "Your appeal succeeded: the decision was reversed.",
        AppealStatus.MODIFIED: "Your appeal partly succeeded: the decision was changed to a "
        "lighter measure.",
    },
    Appellant.NOTIFIER: {
        AppealStatus.UPHELD: "Your appeal did not succeed: the decision stands.",
        AppealStatus.OVERTURNED: "Your appeal succeeded: the platform has to decide again.",
        AppealStatus.MODIFIED: "Your appeal partly succeeded.",
    },
}


@dataclass(slots=True)
class Effect:
    text: str
    # The end date the platform set, None for no end date; `lasting` False for measures that
    # have no duration (a removal is done, a termination is for good).
    until: dt.date | None = None
    lasting: bool = True
    silent: bool = False


@dataclass(slots=True)
class Words:
    """The nouns a decision's sentences use for the person reading the page."""

    platform: str
    noun: str
    thing: str
    account: str
    payee: str
    followers: str

    @property
    def a_noun(self) -> str:
        """'a video', 'an image', 'an account', 'content'."""
        if self.noun == "content":
            return self.noun
        return f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}"

    def fill(self, template: str) -> str:
        return template.format(
            platform=self.platform,
            thing=self.thing,
            Thing=_capital(self.thing),
            account=self.account,
            Account=_capital(self.account),
            payee=self.payee,
            followers=self.followers,
        )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def content_noun(decision: Decision) -> str:
    """'video', 'post', ... for content of one type; 'content' for several or none; 'account'
    when the decision is about an account and no content."""
    if not decision.subject_content:
        return "account"
    types = list(decision.content_type or ())
    if len(types) == 1 and types[0] in ContentType.values:
        return _NOUNS[ContentType(types[0])]
    return "content"


def words_for(decision: Decision, *, notifier: bool) -> Words:
    noun = content_noun(decision)
    if notifier:
        return Words(
            platform=decision.platform.name,
            noun=noun,
            thing=f"the {noun}" if noun != "content" else "the content",
            account="the account",
            payee="the account holder",
            followers="the account's followers",
        )
    return Words(
        platform=decision.platform.name,
        noun=noun,
        thing=f"your {noun}",
        account="your account",
        payee="you",
        followers="your followers",
    )


def _with_other(template: str, other: str, words: Words) -> str:
    text = words.fill(template)
    if text.endswith("."):
        return text
    return f"{text}: {other}." if other else f"{text}."


def effects(decision: Decision, words: Words) -> list[Effect]:
    """One plain sentence per restriction the decision imposes, with its end date."""
    found: list[Effect] = []
    for value in decision.decision_visibility or ():
        if value not in Visibility.values:
            continue
        visibility = Visibility(value)
        found.append(
            Effect(
                _with_other(_VISIBILITY[visibility], decision.decision_visibility_other, words),
                until=decision.end_date_visibility_restriction,
                lasting=visibility not in (Visibility.CONTENT_REMOVED,),
                silent=visibility in SILENT_VISIBILITY,
            )
        )
    if decision.decision_monetary in Monetary.values:
        found.append(
            Effect(
                _with_other(
                    _MONETARY[Monetary(decision.decision_monetary)],
                    decision.decision_monetary_other,
                    words,
                ),
                until=decision.end_date_monetary_restriction,
                lasting=decision.decision_monetary != Monetary.TERMINATION
                or decision.end_date_monetary_restriction is not None,
            )
        )
    if decision.decision_provision in Provision.values:
        provision = Provision(decision.decision_provision)
        found.append(
            Effect(
                words.fill(_PROVISION[provision]),
                until=decision.end_date_service_restriction,
                lasting=provision in (Provision.PARTIAL_SUSPENSION, Provision.TOTAL_SUSPENSION)
                or decision.end_date_service_restriction is not None,
            )
        )
    if decision.decision_account in AccountAction.values:
        account = AccountAction(decision.decision_account)
        found.append(
            Effect(
                words.fill(_ACCOUNT[account]),
                until=decision.end_date_account_restriction,
                lasting=account == AccountAction.SUSPENDED
                or decision.end_date_account_restriction is not None,
            )
        )
    return found


def summary(decision: Decision, words: Words) -> str:
    """What the decision did, in one sentence, for lists and banners."""
    if decision.decision_type == DecisionType.REVERSAL:
        return words.fill("{platform} reversed its earlier decision: what it restricted is lifted.")
    if decision.decision_type == DecisionType.EXPIRY:
        return words.fill("The earlier restriction of {thing} has ended.")
    if decision.decision_type == DecisionType.NO_ACTION:
        return words.fill("{platform} decided to take no action against {thing}.")
    found = effects(decision, words)
    if decision.decision_type == DecisionType.FLAG and not found:
        return words.fill("{platform} flagged {thing} for a closer look; nothing is restricted.")
    if found:
        return " ".join(e.text for e in found)
    return words.fill(_HEADLINES[Action(decision.action)]) + "."


def headline(decision: Decision, words: Words, found: list[Effect], *, notifier: bool) -> str:
    """The page's first words: the one effect itself when there is one ("Your video is not
    shown in search"), else what the platform did."""
    if not notifier and len(found) == 1 and decision.decision_type == DecisionType.RESTRICTION:
        return found[0].text.removesuffix(".")
    template = _HEADLINES.get(Action(decision.action), "{platform} decided about {thing}")
    if notifier:
        reported = Words(
            platform=words.platform,
            noun=words.noun,
            thing=f"the {words.noun} you reported"
            if words.noun != "account"
            else "the account you reported",
            account="the account you reported",
            payee="the account you reported",
            followers=words.followers,
        )
        return reported.fill(template)
    return words.fill(template)


def places(decision: Decision) -> str:
    codes = [c for c in decision.territorial_scope or () if isinstance(c, str)]
    if not codes:
        return ""
    if set(codes) >= set(COUNTRY_NAMES):
        return "the whole European Economic Area (the EU, Iceland, Liechtenstein and Norway)"
    names = [COUNTRY_NAMES.get(c, c) for c in codes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def ground(decision: Decision, words: Words) -> str:
    if decision.decision_ground == Ground.ILLEGAL_CONTENT:
        law = decision.illegal_content_legal_ground
        return words.fill("{platform} considers it illegal") + (f" under {law}." if law else ".")
    rule = decision.incompatible_content_ground
    text = words.fill("{platform} considers that it breaks its rules") + (
        f": {rule}." if rule else "."
    )
    if decision.incompatible_content_illegal:
        text += " It also considers it illegal."
    return text


def keywords(decision: Decision) -> list[str]:
    labels = []
    for value in decision.category_specification or ():
        try:
            labels.append(str(Keyword(value).label))
        except ValueError:
            continue
    if decision.category_specification_other:
        labels.append(decision.category_specification_other)
    return labels


# --- the notice page ------------------------------------------------------------------------


@dataclass(slots=True)
class Change:
    """A later decision that changes the one on the page (a reversal, modification, expiry)."""

    decision: Decision
    verb: str
    outcome: str
    reason: str
    link: str | None


@dataclass(slots=True)
class ChainItem:
    decision: Decision
    text: str
    current: bool
    link: str | None


@dataclass(slots=True)
class AppealView:
    appeal: Appeal
    status: str
    outcome: str | None = None
    reason: str | None = None
    decided_at: dt.datetime | None = None
    reversal_link: str | None = None
    escalated: bool = False
    overdue: bool = False
    # A reviewer proposed a high-impact outcome; it waits for a second reviewer's approval.
    awaiting_approval: bool = False


def _notice_link(decision: Decision, holder: Holder) -> str | None:
    """A link to another decision's page: only for the person the decisions are about, whose
    tokens they all are. A notifier's link must not lead to the subject's pages (and their
    appeal), nor to another notifier's."""
    if holder.is_notifier:
        return None
    return reverse("notice", args=[decision.notice_token])


def _change_verb(decision: Decision) -> str:
    if decision.decision_type == DecisionType.REVERSAL:
        return "reversed"
    if decision.decision_type == DecisionType.EXPIRY:
        return "ended"
    return "changed"


def appeal_view(appeal: Appeal, holder: Holder, now: dt.datetime) -> AppealView:
    view = AppealView(appeal=appeal, status=appeal.get_status_display())
    answer = appeal_answer(appeal)
    if answer is not None:
        view.outcome = _OUTCOMES[Appellant(holder.appellant)][AppealStatus(answer.outcome)]
        view.reason = answer.reason
        view.decided_at = answer.decided_at
        if answer.reversal is not None:
            view.reversal_link = _notice_link(answer.reversal, holder)
    else:
        view.awaiting_approval = appeal.status == AppealStatus.AWAITING_APPROVAL
        view.escalated = was_escalated(appeal)
        view.overdue = now > appeal.deadline_at
    return view


def notice_context(
    holder: Holder, *, now: dt.datetime, statement: str = "", errors: dict[str, list[str]]
) -> dict[str, Any]:
    decision = holder.decision
    notifier = holder.is_notifier
    words = words_for(decision, notifier=notifier)
    found = effects(decision, words)
    chain = list(decision_chain(decision))

    later = [d for d in chain if d.supersedes_id == decision.pk]
    change = None
    if later:
        newer = later[0]
        change = Change(
            decision=newer,
            verb=_change_verb(newer),
            outcome=summary(newer, words),
            reason=newer.decision_facts,
            link=_notice_link(newer, holder),
        )
    changes = None
    if decision.supersedes_id is not None:
        original = next((d for d in chain if d.pk == decision.supersedes_id), decision.supersedes)
        if original is not None:
            changes = ChainItem(
                decision=original,
                text=summary(original, words),
                current=False,
                link=_notice_link(original, holder),
            )

    appeal = own_appeal(holder)
    closes = appeal_window_closes(decision)
    appealable = decision.decision_type not in CHANGING_TYPES
    latest = log.latest_checkpoint()
    return {
        "decision": decision,
        "holder": holder,
        "notifier": notifier,
        "words": words,
        "headline": (title := headline(decision, words, found, notifier=notifier)),
        # The one effect is the headline itself: the list below it would only repeat it.
        "headline_is_effect": len(found) == 1 and title == found[0].text.removesuffix("."),
        "summary": summary(decision, words),
        "effects": found,
        "silent": any(e.silent for e in found),
        "lasting": [e for e in found if e.lasting],
        "places": places(decision),
        "ground": ground(decision, words),
        "explanation": decision.illegal_content_explanation
        or decision.incompatible_content_explanation,
        "keywords": keywords(decision),
        "found_by": words.fill(_FOUND_BY[Source(decision.source_type)])
        if decision.source_type in Source.values
        else "",
        "decided_by": _DECIDED_BY.get(AutomatedDecision(decision.automated_decision), "")
        if decision.automated_decision in AutomatedDecision.values
        else "",
        "change": change,
        "changes": changes,
        "chain": [
            ChainItem(
                decision=d,
                text=summary(d, words),
                current=d.pk == decision.pk,
                link=None if d.pk == decision.pk else _notice_link(d, holder),
            )
            for d in chain
        ],
        "appeal": appeal_view(appeal, holder, now) if appeal is not None else None,
        "appealable": appealable,
        "window_closes": closes,
        "window_open": now <= closes,
        "show_form": appeal is None and appealable and now <= closes,
        "statement": statement,
        "errors": errors,
        "statement_errors": errors.get("statement", []),
        "other_errors": [m for k, v in errors.items() if k != "statement" for m in v],
        "max_statement": MAX_STATEMENT_LENGTH,
        "decision_days": settings.LEDGER_APPEAL_DECISION_DAYS,
        "leaf_hash": bytes(decision.log_entry.leaf_hash).hex(),
        "sealed": latest is not None and latest.size > decision.log_entry_id,
        "origin": log.origin(),
        # Out-of-court disputes about the decision (all of it public: it is in the log).
        "disputes": disputes_for_notice(decision, holder.appellant),
    }


def _private(response: HttpResponse) -> HttpResponse:
    # A notice link is a secret: keep it out of other sites' referrers, shared caches and
    # search engines. "same-origin" rather than "no-referrer": with "no-referrer" the browser
    # sends `Origin: null` on the page's own form, which Django's CSRF check rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def notice(request: HttpRequest, token: str) -> HttpResponse:
    """The page a creator (or the person who reported the content) reaches from the link the
    platform gave them, with the appeal form.

    The token is the only key: it is unguessable, and the page shows only public fields of
    decisions about the same content and the holder's own appeal (never internal notes,
    another subject's data, or another appellant's appeal).
    """
    holder = holder_of(token)
    now = timezone.now()
    if request.method == "POST":
        # Browsers send a textarea's line breaks as CRLF; a person typed one character.
        statement = request.POST.get("statement", "").replace("\r\n", "\n")
        try:
            file_appeal(
                decision=holder.decision,
                appellant=holder.appellant,
                statement=statement,
                now=now,
            )
        except AppealRejected as exc:
            context = notice_context(holder, now=now, statement=statement, errors=exc.errors)
            return _private(render(request, "ledger/notice.html", context, status=400))
        # Post/redirect/get: a reload shows the appeal instead of sending it again.
        redirect = HttpResponseRedirect(reverse("notice", args=[token]) + "#your-appeal")
        redirect.status_code = 303
        return _private(redirect)
    context = notice_context(holder, now=now, errors={})
    return _private(render(request, "ledger/notice.html", context))


@require_safe
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    """The decision's C2SP tlog-proof: its log entry (as `extra`), the inclusion proof and the
    signed checkpoint, which a creator keeps and checks offline with `python -m ledger.verify`.
    Either notice link's token opens it: the notifier's page links it with their own token,
    never with the subject's."""
    decision = holder_of(token).decision
    entry = decision.log_entry
    checkpoint = log.latest_checkpoint()
    if checkpoint is None or checkpoint.size <= entry.index:
        response = HttpResponse(
            "This decision is recorded but not yet covered by a signed checkpoint; "
            "try again in a few seconds.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "5"
        return response
    response = HttpResponse(
        log.receipt(entry.index, checkpoint, entry.payload),
        content_type="text/plain; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="decision-{decision.public_id}.tlog-proof"'
    )
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response
