"""The reviewers' admin: staff and reviewers see only their platforms' records; a reviewer
claims the next item, reads the decision, its history and the statement, and decides with a
reason; refusals (stale version, missing measure, empty reason) are shown and write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appeals.models import (
    Appeal,
    AppealStatus,
    ItemState,
    Outcome,
    Review,
    Reviewer,
    ReviewItem,
    ReviewQueue,
)
from appeals.services import claim_next_review, file_appeal
from moderation import services
from moderation.models import ApiKey, AuditEvent, Decision, Platform, PlatformMember
from moderation.pseudonyms import pseudonym
from tests.factories import as_input, decision_payload, human_payload, register_model

pytestmark = pytest.mark.django_db

STATEMENT = "It was a chess commentary: white knight captures black queen."
REASON = "Chess notation, not hate speech: the classifier was wrong."


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def other_platform(db: None) -> Platform:
    platform = services.create_platform(slug="clipzone", name="ClipZone")
    register_model(platform)
    return platform


def record(platform: Platform, body: dict[str, Any]) -> Decision:
    recorded = services.record_decision(platform=platform, decision=as_input(body))
    return Decision.objects.get(public_id=recorded.public_id)


def appeal_against(platform: Platform, body: dict[str, Any] | None = None) -> Appeal:
    decision = record(platform, body or decision_payload())
    return file_appeal(decision=decision, appellant="subject", statement=STATEMENT)


def member(username: str, *platforms: Platform, perms: bool = False) -> User:
    user = User.objects.create_user(username, password="password", is_staff=True)
    for platform in platforms:
        PlatformMember.objects.create(user=user, platform=platform)
    if perms:
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=["moderation", "appeals"])
        )
    return user


def reviewer_of(username: str, *platforms: Platform, senior: bool = False) -> Reviewer:
    return Reviewer.objects.create(user=member(username, *platforms), senior=senior)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def appeal(platform: Platform, model_v1: Any) -> Appeal:
    return appeal_against(platform)


@pytest.fixture
def foreign_appeal(other_platform: Platform) -> Appeal:
    return appeal_against(other_platform)


@pytest.fixture
def reviewer(platform: Platform) -> Reviewer:
    return reviewer_of("rita", platform)


def item_url(item: ReviewItem | Appeal) -> str:
    if isinstance(item, Appeal):
        item = ReviewItem.objects.get(appeal=item)
    return reverse("admin:appeals_reviewitem_change", args=[item.pk])


def claimed(reviewer: Reviewer) -> ReviewItem:
    item = claim_next_review(reviewer=reviewer)
    assert item is not None
    return item


def decide(client: Client, item: ReviewItem, **data: Any) -> Any:
    return client.post(item_url(item), {"action": "decide", "version": item.version, **data})


# --- platform scoping -----------------------------------------------------------------------


def test_staff_of_one_platform_get_404_for_another_platforms_records(
    platform: Platform, appeal: Appeal, foreign_appeal: Appeal
) -> None:
    client = client_for(member("sam", platform, perms=True))
    foreign = foreign_appeal.decision
    pages = [
        reverse("admin:moderation_decision_change", args=[foreign.pk]),
        reverse("admin:moderation_decision_reverse", args=[foreign.pk]),
        reverse("admin:moderation_decision_history", args=[foreign.pk]),
        reverse("admin:appeals_appeal_change", args=[foreign_appeal.pk]),
        item_url(foreign_appeal),
        reverse("admin:moderation_platform_change", args=[foreign.platform_id]),
        reverse(
            "admin:appeals_reviewqueue_change",
            args=[ReviewItem.objects.get(appeal=foreign_appeal).queue_id],
        ),
    ]

    for page in pages:
        assert client.get(page).status_code == 404, page

    own = reverse("admin:moderation_decision_change", args=[appeal.decision_id])
    assert client.get(own).status_code == 200


def test_staff_lists_show_only_their_platforms_records(
    platform: Platform, appeal: Appeal, foreign_appeal: Appeal, other_platform: Platform
) -> None:
    services.issue_api_key(platform=other_platform, name="foreign")
    services.issue_api_key(platform=platform, name="ours")
    client = client_for(member("sam", platform, perms=True))

    def listed(name: str) -> list[Any]:
        response = client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert listed("moderation_decision") == [appeal.decision]
    assert listed("appeals_appeal") == [appeal]
    assert [i.appeal_id for i in listed("appeals_reviewitem")] == [appeal.pk]
    assert listed("moderation_platform") == [platform]
    assert [k.name for k in listed("moderation_apikey")] == ["ours"]
    assert {q.platform_id for q in listed("appeals_reviewqueue")} == {platform.pk}
    # The platform filter offers only their platform, not the other's name.
    page = client.get(reverse("admin:moderation_decision_changelist")).content.decode()
    assert "ClipZone" not in page


def test_a_superuser_sees_every_platforms_records(
    admin_client: Client, appeal: Appeal, foreign_appeal: Appeal
) -> None:
    response = admin_client.get(reverse("admin:appeals_appeal_changelist"))

    assert set(response.context["cl"].result_list) == {appeal, foreign_appeal}
    assert admin_client.get(item_url(foreign_appeal)).status_code == 200


def test_staff_cannot_issue_a_key_for_another_platform(
    platform: Platform, other_platform: Platform
) -> None:
    client = client_for(member("sam", platform, perms=True))
    add = reverse("admin:moderation_apikey_add")

    choices = client.get(add).context["adminform"].form.fields["platform"].queryset
    response = client.post(add, {"platform": other_platform.pk, "name": "sneaky"})

    assert list(choices) == [platform]
    assert response.status_code == 200
    assert "platform" in response.context["adminform"].form.errors
    assert not ApiKey.objects.filter(name="sneaky").exists()


def test_staff_without_membership_see_nothing(appeal: Appeal) -> None:
    client = client_for(member("nobody", perms=True))

    response = client.get(reverse("admin:moderation_decision_changelist"))

    assert list(response.context["cl"].result_list) == []
    assert client.get(item_url(appeal)).status_code == 404


def test_platform_members_are_managed_by_superusers_only(
    admin_client: Client, platform: Platform
) -> None:
    staff = member("sam", platform, perms=True)
    newcomer = User.objects.create_user("nina", is_staff=True)
    changelist = reverse("admin:moderation_platformmember_changelist")
    assert client_for(staff).get(changelist).status_code == 403

    response = admin_client.post(
        reverse("admin:moderation_platformmember_add"),
        {"user": newcomer.pk, "platform": platform.pk, "moderator_id": "mod-7"},
    )

    assert response.status_code == 302
    membership = PlatformMember.objects.get(user=newcomer)
    # Stored as the decisions' moderator_ref is: the platform's id never rests here.
    assert membership.moderator_ref == pseudonym(
        platform_slug="vidshare", kind="moderator", platform_id="mod-7"
    )
    assert AuditEvent.objects.filter(action="platform_member.added").count() == 1


# --- my queue and claiming ------------------------------------------------------------------


def test_my_queue_lists_what_the_reviewer_may_claim_in_priority_order(
    platform: Platform, model_v1: Any, reviewer: Reviewer, foreign_appeal: Appeal
) -> None:
    shadowban = appeal_against(platform)
    suspension = appeal_against(
        platform,
        human_payload(
            decision_visibility=None,
            decision_account="DECISION_ACCOUNT_SUSPENDED",
            account_type="ACCOUNT_TYPE_PRIVATE",
            content_type=["CONTENT_TYPE_TEXT"],
            moderator="mod-8",
        ),
    )
    # Made over the API by the platform's moderator "mod-7", whom the reviewer is known as.
    own = record(platform, human_payload(moderator="mod-7"))
    PlatformMember.objects.filter(user=reviewer.user).update(
        moderator_ref=pseudonym(platform_slug="vidshare", kind="moderator", platform_id="mod-7")
    )
    own_appeal = file_appeal(decision=own, appellant="subject", statement=STATEMENT)

    response = client_for(reviewer.user).get(reverse("admin:appeals_reviewitem_my_queue"))

    assert response.status_code == 200
    listed = [item.appeal_id for item in response.context["claimable"]]
    # Suspensions first; never the reviewer's own decision, nor another platform's appeal.
    assert listed == [suspension.pk, shadowban.pk]
    assert own_appeal.pk not in listed
    assert foreign_appeal.pk not in listed


def test_claim_next_leases_the_next_item_and_opens_its_page(
    appeal: Appeal, reviewer: Reviewer
) -> None:
    client = client_for(reviewer.user)

    response = client.post(reverse("admin:appeals_reviewitem_claim_next"))

    item = ReviewItem.objects.get(appeal=appeal)
    assert response.status_code == 302
    assert response["Location"] == item_url(item)
    assert item.state == ItemState.CLAIMED
    assert item.claimed_by == reviewer
    page = client.get(item_url(item))
    body = page.content.decode()
    assert STATEMENT in body
    assert 'name="version" value="2"' in body
    assert page.context["holds"] is True
    assert [row["decision"] for row in page.context["chain"]] == [appeal.decision]


def test_claim_next_with_nothing_waiting_says_so(platform: Platform, reviewer: Reviewer) -> None:
    client = client_for(reviewer.user)

    response = client.post(reverse("admin:appeals_reviewitem_claim_next"), follow=True)

    assert "Nothing to claim" in response.content.decode()


def test_a_reviewer_of_another_platform_cannot_open_or_claim_the_item(
    appeal: Appeal, other_platform: Platform
) -> None:
    outsider = reviewer_of("otto", other_platform)
    client = client_for(outsider.user)

    assert client.get(item_url(appeal)).status_code == 404
    client.post(reverse("admin:appeals_reviewitem_claim_next"))
    assert ReviewItem.objects.get(appeal=appeal).state == ItemState.OPEN


def test_staff_who_are_not_reviewers_do_not_read_the_statement(
    platform: Platform, appeal: Appeal
) -> None:
    client = client_for(member("sam", platform, perms=True))

    item_page = client.get(item_url(appeal)).content.decode()
    appeal_page = client.get(reverse("admin:appeals_appeal_change", args=[appeal.pk]))

    assert STATEMENT not in item_page
    assert "only the platform's reviewers read the statement" in item_page
    assert STATEMENT not in appeal_page.content.decode()


def test_users_who_are_neither_reviewers_nor_permitted_get_403(
    platform: Platform, appeal: Appeal
) -> None:
    client = client_for(member("sam", platform))

    assert client.get(reverse("admin:appeals_reviewitem_my_queue")).status_code == 403
    assert client.get(item_url(appeal)).status_code == 403
    assert client.get(reverse("admin:appeals_reviewitem_dashboard")).status_code == 403


# --- deciding -------------------------------------------------------------------------------


def test_a_reviewer_overturns_with_a_reason_and_the_reversal_is_recorded(
    appeal: Appeal, reviewer: Reviewer
) -> None:
    item = claimed(reviewer)

    response = decide(client_for(reviewer.user), item, outcome="overturned", reason=REASON)

    assert response.status_code == 302
    review = Review.objects.get(item=item)
    assert (review.outcome, review.reason, review.reviewer) == (
        Outcome.OVERTURNED,
        REASON,
        reviewer,
    )
    assert review.reversal is not None
    assert review.reversal.supersedes_id == appeal.decision_id
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.OVERTURNED


def test_deciding_with_a_stale_version_shows_an_error_and_writes_nothing(
    appeal: Appeal, reviewer: Reviewer
) -> None:
    item = claimed(reviewer)
    client = client_for(reviewer.user)

    response = client.post(
        item_url(item),
        {"action": "decide", "version": item.version - 1, "outcome": "upheld", "reason": REASON},
    )

    assert response.status_code == 409
    body = response.content.decode()
    assert "changed since you read it" in body
    # The form keeps the reason and now carries the current version, after a fresh read.
    assert REASON in body
    assert f'name="version" value="{item.version}"' in body
    assert not Review.objects.exists()
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.IN_REVIEW


def test_an_empty_reason_is_refused_and_writes_nothing(appeal: Appeal, reviewer: Reviewer) -> None:
    item = claimed(reviewer)

    response = decide(client_for(reviewer.user), item, outcome="overturned", reason="   ")

    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not Review.objects.exists()
    assert Decision.objects.count() == 1


def test_a_modification_needs_a_lighter_measure(
    platform: Platform, model_v1: Any, reviewer: Reviewer
) -> None:
    removal = appeal_against(platform, human_payload())
    item = claimed(reviewer)
    client = client_for(reviewer.user)

    without = decide(client, item, outcome="modified", reason=REASON)
    heavier = decide(
        client,
        item,
        outcome="modified",
        reason=REASON,
        decision_account="DECISION_ACCOUNT_TERMINATED",
    )

    assert without.status_code == 400
    assert "needs the lighter measure" in without.content.decode()
    assert heavier.status_code == 400
    assert not Review.objects.exists()

    lighter = decide(
        client,
        item,
        outcome="modified",
        reason=REASON,
        decision_visibility=["DECISION_VISIBILITY_CONTENT_DEMOTED"],
    )

    assert lighter.status_code == 302
    review = Review.objects.get(item=item)
    assert review.outcome == Outcome.MODIFIED
    assert review.reversal is not None
    assert review.reversal.decision_visibility == ["DECISION_VISIBILITY_CONTENT_DEMOTED"]
    assert review.reversal.supersedes_id == removal.decision_id


def test_deciding_an_item_one_does_not_hold_is_refused(
    appeal: Appeal, reviewer: Reviewer, platform: Platform
) -> None:
    item = claimed(reviewer)
    other = reviewer_of("rolf", platform)

    response = decide(client_for(other.user), item, outcome="upheld", reason=REASON)

    assert response.status_code == 409
    assert "You do not hold this item" in response.content.decode()
    assert not Review.objects.exists()


def test_escalating_sends_the_item_to_seniors_and_releasing_gives_it_back(
    platform: Platform, model_v1: Any, reviewer: Reviewer
) -> None:
    first, second = appeal_against(platform), appeal_against(platform)
    client = client_for(reviewer.user)
    item = claimed(reviewer)
    assert item.appeal_id == first.pk

    response = client.post(
        item_url(item), {"action": "escalate", "version": item.version, "reason": "Unclear."}
    )

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.state, item.senior_only) == (ItemState.OPEN, True)
    assert Review.objects.get(item=item).outcome == Outcome.ESCALATED

    next_item = claimed(reviewer)
    assert next_item.appeal_id == second.pk
    response = client.post(item_url(next_item), {"action": "release"})
    assert response.status_code == 302
    next_item.refresh_from_db()
    assert next_item.state == ItemState.OPEN


# --- queues, reviewers, dashboard -----------------------------------------------------------


def test_staff_create_a_queue_with_routing_rules_for_their_platform(
    platform: Platform, other_platform: Platform, reviewer: Reviewer
) -> None:
    client = client_for(member("sam", platform, perms=True))
    outsider = reviewer_of("otto", other_platform)
    add = reverse("admin:appeals_reviewqueue_add")
    data = {
        "platform": platform.pk,
        "slug": "accounts",
        "name": "Account suspensions",
        "position": 10,
        "actions": ["ACCOUNT_SUSPENSION", "ACCOUNT_TERMINATION"],
        "languages": ["DE"],
        "deadline_hours": 48,
        "escalate_before_hours": 12,
        "reviewers": [reviewer.pk],
    }

    refused = client.post(add, {**data, "reviewers": [outsider.pk]})
    created = client.post(add, data)

    assert refused.status_code == 200
    assert "reviewers" in refused.context["adminform"].form.errors
    assert created.status_code == 302
    queue = ReviewQueue.objects.get(slug="accounts")
    assert queue.actions == ["ACCOUNT_SUSPENSION", "ACCOUNT_TERMINATION"]
    assert queue.languages == ["DE"]
    assert queue.categories == []
    assert list(queue.reviewers.all()) == [reviewer]
    assert AuditEvent.objects.filter(action="review_queue.created").count() == 1


def test_a_second_default_queue_is_refused_on_the_form(platform: Platform, appeal: Appeal) -> None:
    client = client_for(member("sam", platform, perms=True))

    response = client.post(
        reverse("admin:appeals_reviewqueue_add"),
        {
            "platform": platform.pk,
            "slug": "other-default",
            "name": "Another default",
            "is_default": "on",
            "position": 5,
            "deadline_hours": 24,
            "escalate_before_hours": 1,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert ReviewQueue.objects.filter(is_default=True).count() == 1


def test_the_dashboard_counts_queues_and_decisions_per_reviewer(
    platform: Platform, model_v1: Any, reviewer: Reviewer, foreign_appeal: Appeal
) -> None:
    appeal_against(platform)
    appeal_against(platform)
    item = claimed(reviewer)
    decide(client_for(reviewer.user), item, outcome="upheld", reason=REASON)

    response = client_for(reviewer.user).get(reverse("admin:appeals_reviewitem_dashboard"))

    assert response.status_code == 200
    (row,) = response.context["stats"]  # not the other platform's queue
    assert (row["size"], row["past_deadline"], row["breaches"]) == (1, 0, 0)
    assert row["oldest"] is not None
    assert response.context["reviewer_rows"] == [
        {"name": "rita", "counts": [1, 0, 0, 0], "decided": 1}
    ]


def test_item_queue_reviewer_and_appeal_lists_run_a_bounded_number_of_queries(
    admin_client: Client,
    platform: Platform,
    model_v1: Any,
    reviewer: Reviewer,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(12):
        appeal_against(platform)
    for n in range(3):
        claim_next_review(reviewer=reviewer_of(f"r{n}", platform), now=timezone.now())
    for name in ("appeals_reviewitem", "appeals_reviewqueue", "appeals_reviewer", "appeals_appeal"):
        # Session, user, reviewer, the page, its filters' choices: nothing per row.
        with django_assert_max_num_queries(9):
            response = admin_client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200


def test_scoped_pages_of_staff_and_reviewers_run_a_bounded_number_of_queries(
    platform: Platform,
    model_v1: Any,
    reviewer: Reviewer,
    foreign_appeal: Appeal,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(12):
        appeal_against(platform)
    claimed(reviewer)
    staff = client_for(member("sam", platform, perms=True))
    rita = client_for(reviewer.user)

    # Session, user, their two permission queries, their platforms, "are they a reviewer?"
    # (the sidebar), up to three filters' choices, count and page: nothing per row.
    for name in ("moderation_decision", "appeals_reviewitem", "appeals_appeal"):
        with django_assert_max_num_queries(11):
            assert staff.get(reverse(f"admin:{name}_changelist")).status_code == 200
    with django_assert_max_num_queries(12):
        response = rita.get(reverse("admin:appeals_reviewitem_my_queue"))
    assert len(response.context["claimable"]) == 11
    with django_assert_max_num_queries(10):
        assert rita.get(reverse("admin:appeals_reviewitem_dashboard")).status_code == 200


def test_staff_see_only_their_platforms_audit_trail_and_webhook_messages(
    platform: Platform, appeal: Appeal, foreign_appeal: Appeal
) -> None:
    client = client_for(member("sam", platform, perms=True))

    events = client.get(reverse("admin:moderation_auditevent_changelist"))
    messages = client.get(reverse("admin:moderation_webhookmessage_changelist"))

    assert events.status_code == messages.status_code == 200
    assert {e.platform_id for e in events.context["cl"].result_list} == {platform.pk}
    assert {m.platform_id for m in messages.context["cl"].result_list} == {platform.pk}
    assert AuditEvent.objects.exclude(platform=platform).exists()


def test_staff_see_and_add_reviewers_of_their_platforms_only(
    platform: Platform, other_platform: Platform, reviewer: Reviewer
) -> None:
    outsider = reviewer_of("otto", other_platform)
    client = client_for(member("sam", platform, perms=True))
    newcomer = member("nina", platform)
    stranger = member("olga", other_platform)
    add = reverse("admin:appeals_reviewer_add")

    listed = client.get(reverse("admin:appeals_reviewer_changelist")).context["cl"].result_list
    refused = client.post(add, {"user": stranger.pk})
    added = client.post(add, {"user": newcomer.pk, "senior": "on"})

    assert list(listed) == [reviewer]
    assert (
        client.get(reverse("admin:appeals_reviewer_change", args=[outsider.pk])).status_code == 404
    )
    assert "user" in refused.context["adminform"].form.errors
    assert added.status_code == 302
    assert Reviewer.objects.get(user=newcomer).senior
    assert not Reviewer.objects.filter(user=stranger).exists()
    assert AuditEvent.objects.filter(action="reviewer.created").count() == 1


def test_a_malformed_post_is_a_clear_400_not_a_500(appeal: Appeal, reviewer: Reviewer) -> None:
    item = claimed(reviewer)
    client = client_for(reviewer.user)

    no_version = client.post(item_url(item), {"action": "decide", "outcome": "upheld"})
    bad_outcome = decide(client, item, outcome="deleted", reason=REASON)
    unknown = client.post(item_url(item), {"action": "delete"})

    assert no_version.status_code == bad_outcome.status_code == unknown.status_code == 400
    assert "This field is required" in no_version.content.decode()
    assert "Select a valid choice" in bad_outcome.content.decode()
    assert not Review.objects.exists()
