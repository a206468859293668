"""Reading appeals."""

from __future__ import annotations

from django.db.models import QuerySet

from appeals.models import Appeal
from moderation.models import Decision


def appeals_of(decision: Decision) -> QuerySet[Appeal]:
    """A decision's appeals (at most one per appellant), served by the unique constraint."""
    return Appeal.objects.filter(decision=decision).order_by("filed_at")
