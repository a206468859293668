"""Appeals in the admin: listed and viewed, never added, changed or deleted there; the private
statement only on the detail page, and only for superusers and the platform's reviewers."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from appeals.models import Reviewer, ReviewItem
from appeals.services import file_appeal
from moderation import services
from moderation.models import Decision, Platform, PlatformMember
from tests.factories import as_input, decision_payload

pytestmark = pytest.mark.django_db

STATEMENT = "Chess notation is not a threat."


@pytest.fixture
def appeal(platform: Platform, model_v1: Any) -> Any:
    recorded = services.record_decision(platform=platform, decision=as_input(decision_payload()))
    decision = Decision.objects.get(public_id=recorded.public_id)
    return file_appeal(decision=decision, appellant="subject", statement=STATEMENT)


def test_the_list_shows_appeals_without_their_statements(admin_client: Client, appeal: Any):
    response = admin_client.get(reverse("admin:appeals_appeal_changelist"))

    assert response.status_code == 200
    assert "Affected person" in response.content.decode()
    assert STATEMENT not in response.content.decode()


def test_the_detail_page_shows_the_statement_read_only(admin_client: Client, appeal: Any):
    response = admin_client.get(reverse("admin:appeals_appeal_change", args=[appeal.pk]))

    assert response.status_code == 200
    assert STATEMENT in response.content.decode()
    assert 'name="_save"' not in response.content.decode()


def test_appeals_cannot_be_added_or_deleted_in_the_admin(admin_client: Client, appeal: Any):
    assert admin_client.get(reverse("admin:appeals_appeal_add")).status_code == 403
    delete = reverse("admin:appeals_appeal_delete", args=[appeal.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_the_detail_page_links_to_the_appeals_review_item(admin_client: Client, appeal: Any):
    item = ReviewItem.objects.get(appeal=appeal)

    response = admin_client.get(reverse("admin:appeals_appeal_change", args=[appeal.pk]))

    assert reverse("admin:appeals_reviewitem_change", args=[item.pk]) in response.content.decode()


def test_the_statement_is_shown_to_the_platforms_reviewers_only(
    platform: Platform, appeal: Any
) -> None:
    page = reverse("admin:appeals_appeal_change", args=[appeal.pk])
    staff = User.objects.create_user("sam", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_appeal"))
    PlatformMember.objects.create(user=staff, platform=platform)
    client = Client()
    client.force_login(staff)

    hidden = client.get(page).content.decode()
    Reviewer.objects.create(user=staff)
    shown = client.get(page).content.decode()

    assert STATEMENT not in hidden
    assert "Private: only the platform" in hidden
    assert STATEMENT in shown
