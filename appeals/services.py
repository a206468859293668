"""Filing appeals. Every write goes through here, in one transaction with its log entry."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from appeals.models import MAX_STATEMENT_LENGTH, Appeal, Appellant
from appeals.payloads import appeal_filed_payload
from ledger.log import append_entries
from ledger.models import EntryType
from moderation.models import Decision, Platform
from moderation.vocabulary import CHANGING_TYPES, Source

# Sources behind which there is a notifier, who may appeal (DSA Article 20(1)(a)).
NOTIFIED_SOURCES = frozenset(
    {
        Source.ARTICLE_16,
        Source.TRUSTED_FLAGGER,
        Source.OTHER_NOTIFICATION,
        Source.COMMUNITY_REPORT,
    }
)


class AppealRejected(Exception):
    """Nothing was written: `errors` maps a field to every problem with it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("appeal refused: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def appeal_window_opens(decision: Decision) -> datetime:
    """The window runs from when the person could know of the decision: its notification, if
    that came later than the decision itself."""
    if decision.notified_at is not None and decision.notified_at > decision.decided_at:
        return decision.notified_at
    return decision.decided_at


def appeal_window_closes(decision: Decision) -> datetime:
    return appeal_window_opens(decision) + timedelta(days=settings.LEDGER_APPEAL_WINDOW_DAYS)


def _statement_errors(statement: str) -> list[str]:
    problems = []
    if not statement.strip():
        problems.append("The statement is empty: say why the decision is wrong.")
    if len(statement) > MAX_STATEMENT_LENGTH:
        problems.append(
            f"The statement has {len(statement)} characters; at most {MAX_STATEMENT_LENGTH} "
            "are allowed."
        )
    # PostgreSQL cannot store NUL in text, and no person types one.
    if "\x00" in statement:
        problems.append("The statement contains a NUL character.")
    return problems


def _decision_errors(decision: Decision, appellant: str) -> list[str]:
    # A reversal or expiry only lifts an earlier restriction: it takes nothing from the person
    # it is about, and a reversal is itself the outcome of a review (usually of an appeal), so
    # appealing it internally again would loop. What remains is out-of-court settlement and the
    # courts. A notifier who wants a reversal contested appeals it there too.
    if decision.decision_type in CHANGING_TYPES:
        return [
            f"A {decision.get_decision_type_display().lower()} cannot be appealed: it lifts an "
            "earlier decision rather than deciding anew."
        ]
    if appellant == Appellant.NOTIFIER and decision.source_type not in NOTIFIED_SOURCES:
        return ["This decision was not taken on a notice, so there is no notifier to appeal it."]
    return []


@transaction.atomic
def file_appeal(
    *, decision: Decision, appellant: Appellant | str, statement: str, now: datetime | None = None
) -> Appeal:
    """File an appeal against `decision`, with its APPEAL_FILED log entry.

    Refuses (AppealRejected, naming every problem by field, writing nothing) an empty, too long
    or NUL-containing statement, an unknown appellant, a decision that cannot be appealed, a
    second appeal by the same appellant, and an appeal after the window.
    """
    filed_at = now if now is not None else timezone.now()
    if timezone.is_naive(filed_at):
        # A naive time would be read in the server's zone and published shifted.
        raise ValueError("file_appeal needs an aware `now`")
    errors: dict[str, list[str]] = {}
    if appellant not in Appellant.values:
        errors["appellant"] = [f"Must be one of {', '.join(Appellant.values)}."]
    if problems := _statement_errors(statement):
        errors["statement"] = problems
    if problems := _decision_errors(decision, str(appellant)):
        errors["decision"] = problems
    closes = appeal_window_closes(decision)
    if filed_at > closes:
        errors.setdefault("decision", []).append(
            f"The time to appeal ended on {closes.isoformat()} "
            f"({settings.LEDGER_APPEAL_WINDOW_DAYS} days)."
        )
    if errors:
        raise AppealRejected(errors)

    # Decisions are append-only, so their rows are never locked for update; the platform's row
    # serialises filings instead, so two concurrent filings cannot both pass the check below.
    platform = Platform.objects.select_for_update().only("slug").get(pk=decision.platform_id)
    if Appeal.objects.filter(decision=decision, appellant=appellant).exists():
        raise AppealRejected({"appellant": ["This decision has already been appealed by them."]})

    public_id = uuid.uuid4()
    deadline_at = filed_at + timedelta(days=settings.LEDGER_APPEAL_DECISION_DAYS)
    payload = appeal_filed_payload(
        public_id=public_id,
        decision=decision.public_id,
        platform=platform.slug,
        appellant=str(appellant),
        filed_at=filed_at,
        deadline_at=deadline_at,
    )
    (appended,) = append_entries([(EntryType.APPEAL_FILED, payload)])
    return Appeal.objects.create(
        public_id=public_id,
        decision=decision,
        appellant=str(appellant),
        statement=statement,
        filed_at=filed_at,
        deadline_at=deadline_at,
        log_entry_id=appended.index,
    )
