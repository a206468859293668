"""Reads in `moderation` that take more than one line, always scoped to their caller."""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from moderation.models import Decision, DsaSubmission, EuForwarding, Platform, PlatformMember
from moderation.pseudonyms import pseudonym
from moderation.vocabulary import SubjectKind

_NOTICE_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")
# The text search configuration of the facts search on PostgreSQL. English stemming finds
# "captures" for "capture"; words of other languages still match themselves.
FACTS_SEARCH_CONFIG = "english"
DECISION_RELATED = ("platform", "policy", "model_version__model", "supersedes", "log_entry")


def platform_ids_for(user: Any) -> set[int] | None:
    """The platforms whose records `user` may see and act on: None means all (a superuser);
    staff see their memberships' platforms, anyone else none. Every admin page scopes by it."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_superuser:
        return None
    return set(PlatformMember.objects.filter(user_id=user.pk).values_list("platform_id", flat=True))


def decisions_for_platform(platform: Platform) -> QuerySet[Decision]:
    return (
        Decision.objects.filter(platform=platform)
        .select_related(*DECISION_RELATED)
        .defer("log_entry__payload")
    )


def get_decision_for_platform(platform: Platform, public_id: uuid.UUID | str) -> Decision:
    """The platform's own decision, or 404: another platform's decision does not exist here."""
    try:
        return decisions_for_platform(platform).get(public_id=public_id)
    except (Decision.DoesNotExist, ValueError) as exc:
        raise Http404("No such decision.") from exc


def get_decision_by_notice_token(token: str) -> Decision:
    # Every token is secrets.token_urlsafe(24); anything else (a NUL, which PostgreSQL refuses
    # in a query, or 10 kB of text) cannot name a notice.
    if not _NOTICE_TOKEN.fullmatch(token):
        raise Http404("No such notice.")
    try:
        return Decision.objects.select_related(*DECISION_RELATED).get(notice_token=token)
    except Decision.DoesNotExist as exc:
        raise Http404("No such notice.") from exc


def get_decision_by_notifier_token(token: str) -> Decision:
    """The decision whose notifier (the person who reported the content) holds `token`.

    Decisions without a notifier store "", which the pattern refuses, so an empty token never
    names one; the partial unique constraint on notifier_token serves the lookup."""
    if not _NOTICE_TOKEN.fullmatch(token):
        raise Http404("No such notice.")
    try:
        return Decision.objects.select_related(*DECISION_RELATED).get(notifier_token=token)
    except Decision.DoesNotExist as exc:
        raise Http404("No such notice.") from exc


def decision_chain(decision: Decision) -> QuerySet[Decision]:
    """Every decision of the platform about the same content (or account, for account-only
    decisions), oldest first, so a reader sees flag, restriction, reversal in order."""
    if decision.subject_content:
        about = Q(subject_content=decision.subject_content)
    else:
        about = Q(subject_account=decision.subject_account, subject_content="")
    return (
        Decision.objects.filter(about, platform_id=decision.platform_id)
        .select_related("model_version__model", "policy")
        .order_by("decided_at", "id")
    )


def eu_forwarding_status(platform: Platform) -> dict[str, Any]:
    """What a platform may see of its EU forwarding: never the token."""
    forwarding = EuForwarding.objects.filter(platform=platform).first()
    if forwarding is None:
        return {"configured": False}
    counts = dict(
        DsaSubmission.objects.filter(platform=platform)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    return {
        "configured": True,
        "enabled": forwarding.enabled,
        "endpoint": forwarding.endpoint or settings.LEDGER_EU_API_URL,
        "paused_reason": forwarding.paused_reason or None,
        "statements": {state: counts.get(state, 0) for state in DsaSubmission.State.values},
    }


def decisions_matching(
    decisions: QuerySet[Decision], term: str, *, platforms: QuerySet[Platform]
) -> QuerySet[Decision]:
    """What a moderator means by `term` in the decision search, among `decisions`.

    An identifier first: a decision id (UUID), a platform's decision id (puid), an account or
    content id as the platform knows it (pseudonymised for each of `platforms` exactly as intake
    does, so every decision about that subject is found and nothing else), or a pseudonym as
    the admin shows it. Each of these is one index lookup per platform. Only when the term
    names nothing is it searched for in the statements of facts: PostgreSQL full-text search
    (words, stemmed), or on SQLite every word as a plain case-insensitive substring.
    """
    term = term.strip()
    # PostgreSQL refuses NUL in a query string: no identifier or facts text holds one.
    if not term or "\x00" in term:
        return decisions.none() if term else decisions
    named = Q()
    for platform in platforms:
        named |= Q(platform=platform, puid=term)
        for kind in SubjectKind:
            subject = pseudonym(platform_slug=platform.slug, kind=kind.value, platform_id=term)
            named |= Q(platform=platform, **{f"subject_{kind.value}": subject})
    with contextlib.suppress(ValueError):
        named |= Q(public_id=uuid.UUID(term))
    if _PSEUDONYM.fullmatch(term):
        named |= Q(subject_account=term) | Q(subject_content=term)
    # An empty Q() (no platform to pseudonymise for, not a UUID) would match every row.
    if named:
        by_id = decisions.filter(named)
        if by_id.exists():
            return by_id
    return _facts_matching(decisions, term)


def _facts_matching(decisions: QuerySet[Decision], text: str) -> QuerySet[Decision]:
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # No index serves this (a GIN index on the same to_tsvector expression would, and needs
        # a migration): a scan, acceptable for staff searches, which are rare.
        return decisions.annotate(
            facts_vector=SearchVector("decision_facts", config=FACTS_SEARCH_CONFIG)
        ).filter(
            facts_vector=SearchQuery(text, config=FACTS_SEARCH_CONFIG, search_type="websearch")
        )
    words = Q()
    for word in text.split():
        words &= Q(decision_facts__icontains=word)
    return decisions.filter(words)
