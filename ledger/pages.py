"""Public pages (floor 5): what a creator or an auditor opens in a browser."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from ledger import log
from moderation.selectors import decision_chain, get_decision_by_notice_token
from moderation.vocabulary import SILENT_VISIBILITY, Visibility


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "ledger/home.html")


@require_safe
def notice(request: HttpRequest, token: str) -> HttpResponse:
    """The page a creator reaches from the link the platform gave them.

    The token is the only key: it is unguessable, and the page shows only public fields of
    decisions about the same content (never internal notes or another subject's data).
    """
    decision = get_decision_by_notice_token(token)
    visibility = [Visibility(v) for v in decision.decision_visibility]
    response = render(
        request,
        "ledger/notice.html",
        {
            "decision": decision,
            "visibility": visibility,
            "silent": [v for v in visibility if v in SILENT_VISIBILITY],
            "chain": decision_chain(decision),
            "leaf_hash": bytes(decision.log_entry.leaf_hash).hex(),
            "sealed": (latest := log.latest_checkpoint()) is not None
            and latest.size > decision.log_entry_id,
            "origin": log.origin(),
        },
    )
    # A notice link is a secret: keep it out of referrers and shared caches.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    """The decision's C2SP tlog-proof: its log entry (as `extra`), the inclusion proof and the
    signed checkpoint, which a creator keeps and checks offline with `python -m ledger.verify`."""
    decision = get_decision_by_notice_token(token)
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
