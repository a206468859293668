"""Appeals in the admin: read-only. Filing goes through `appeals.services.file_appeal`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from appeals.models import Appeal


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    # The statement is private and long: only on the detail page, never in the list.
    list_display = ("decision", "appellant", "status", "filed_at", "deadline_at")
    list_filter = ("status", "appellant")
    list_select_related = ("decision",)
    fields = (
        "public_id",
        "decision",
        "appellant",
        "status",
        "filed_at",
        "deadline_at",
        "log_entry",
        "statement",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
