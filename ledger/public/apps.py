from __future__ import annotations

from django.apps import AppConfig


class PublicConfig(AppConfig):
    """The public side (floor 5): statistics, pages, reports, dumps, and the roll-up tables
    they read. An app of its own so that its tables live above everything they count."""

    name = "ledger.public"
    label = "public"
    verbose_name = "Public statistics"
    default_auto_field = "django.db.models.BigAutoField"
