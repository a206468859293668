"""Public pages (floor 5): what a creator or an auditor opens in a browser."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

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
        },
    )
    # A notice link is a secret: keep it out of referrers and shared caches.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
