"""`manage.py create_reviewer`: a staff reviewer of a platform, known by the platform's own id
for them, with an API token printed alone on the last line; re-running it updates them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from appeals import services
from appeals.models import Reviewer
from moderation.models import AuditEvent, Platform, PlatformMember
from moderation.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db


def create_reviewer(*args: str) -> tuple[str, str]:
    """Run the command; return its standard output and error."""
    out, err = io.StringIO(), io.StringIO()
    call_command("create_reviewer", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def token_of(output: str) -> str:
    return output.rstrip("\n").splitlines()[-1]


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def claim(token: str) -> Any:
    return bearer(token).post("/api/v1/review/claim", {}, format="json")


def test_the_command_prints_a_token_alone_on_its_last_line_and_it_authenticates(platform):
    out, err = create_reviewer("rita", "--platform", "vidshare")

    token = token_of(out)
    assert token.startswith("mlr_") and " " not in token
    assert token not in err  # shown once, where a script reads it
    response = claim(token)
    assert response.status_code == 204  # authenticated; nothing to claim yet


def test_the_reviewer_is_staff_a_member_of_the_platform_and_known_by_its_moderator_id(platform):
    create_reviewer("rita", "--platform", "vidshare", "--moderator-id", "mod-7", "--senior")

    user = get_user_model().objects.get(username="rita")
    assert user.is_staff and not user.has_usable_password()
    reviewer = Reviewer.objects.get(user=user)
    assert reviewer.senior
    member = PlatformMember.objects.get(user=user)
    assert member.platform == platform
    # Exactly the pseudonym a decision sent with "moderator": "mod-7" carries.
    assert member.moderator_ref == pseudonym(
        platform_slug="vidshare", kind="moderator", platform_id="mod-7"
    )


def test_the_token_is_stored_only_as_its_sha256(platform):
    out, _ = create_reviewer("rita", "--platform", "vidshare")
    token = token_of(out)

    reviewer = Reviewer.objects.get(user__username="rita")
    assert token.split("_")[1] == reviewer.token_prefix
    assert reviewer.token_hash == services.hash_reviewer_token(token)
    assert token not in str(list(Reviewer.objects.values()))


def test_creating_a_reviewer_is_in_the_audit_trail_with_the_command_as_actor(platform):
    create_reviewer("rita", "--platform", "vidshare")

    event = AuditEvent.objects.get(action="reviewer.created")
    assert event.actor_label == "manage.py create_reviewer"
    assert event.platform == platform
    assert event.object_type == "reviewer"
    assert event.details["username"] == "rita"


def test_running_it_again_updates_the_reviewer_and_replaces_the_token(platform):
    first, _ = create_reviewer("rita", "--platform", "vidshare", "--senior")
    other = Platform.objects.create(slug="chessclub", name="Chess club")
    second, _ = create_reviewer("rita", "--platform", "chessclub", "--moderator-id", "42")

    assert Reviewer.objects.filter(user__username="rita").count() == 1
    reviewer = Reviewer.objects.get(user__username="rita")
    assert reviewer.senior  # not given: unchanged
    assert set(PlatformMember.objects.values_list("platform__slug", flat=True)) == {
        "vidshare",
        "chessclub",
    }
    assert PlatformMember.objects.get(platform=other).moderator_ref == pseudonym(
        platform_slug="chessclub", kind="moderator", platform_id="42"
    )
    assert claim(token_of(first)).status_code == 401
    assert claim(token_of(second)).status_code == 204
    assert AuditEvent.objects.filter(action="reviewer.updated").count() == 1

    create_reviewer("rita", "--no-senior")
    reviewer.refresh_from_db()
    assert not reviewer.senior


def test_an_existing_user_becomes_staff_and_keeps_their_password(platform):
    get_user_model().objects.create_user(username="omar", password="s3cret-pass")

    create_reviewer("omar", "--platform", "vidshare")

    user = get_user_model().objects.get(username="omar")
    assert user.is_staff and user.check_password("s3cret-pass")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rita", "--platform", "nosuch"), "No platform 'nosuch'"),
        (("rita", "--moderator-id", "mod-7"), "give --platform too"),
        (("rita", "--platform", "vidshare", "--moderator-id", ""), "1 to 500 characters"),
        (("ri ta!", "--platform", "vidshare"), "username 'ri ta!'"),
    ],
)
def test_bad_arguments_are_refused_by_name_and_create_nothing(platform, args, message):
    with pytest.raises(CommandError, match=message):
        create_reviewer(*args)

    assert not get_user_model().objects.exists()
    assert not Reviewer.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="reviewer.").exists()


def test_a_revoked_token_is_refused_with_401_and_a_bearer_challenge(platform):
    out, _ = create_reviewer("rita", "--platform", "vidshare")
    reviewer = Reviewer.objects.get(user__username="rita")

    services.revoke_reviewer_token(reviewer=reviewer, actor="tests")

    response = claim(token_of(out))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEvent.objects.filter(action="reviewer.token_revoked").count() == 1


def test_a_disabled_account_cannot_use_its_token(platform):
    out, _ = create_reviewer("rita", "--platform", "vidshare")
    get_user_model().objects.filter(username="rita").update(is_active=False)

    assert claim(token_of(out)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer mlr_0123456789ab_forged",
        "Bearer mlr_zz\x01_x",
        "Bearer mlr_",
        "Bearer",
        "Basic cml0YTpwdw==",
    ],
)
def test_unknown_or_malformed_tokens_get_401(platform, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.post("/api/v1/review/claim", {}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_token_gets_401(platform):
    response = APIClient().post("/api/v1/review/claim", {}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="review"'


def test_a_platform_key_does_not_open_the_reviewer_api_nor_a_token_the_platform_api(
    platform, api_key
):
    out, _ = create_reviewer("rita", "--platform", "vidshare")

    assert bearer(api_key).post("/api/v1/review/claim", {}, format="json").status_code == 401
    assert bearer(token_of(out)).get("/api/v1/decisions").status_code == 401
    assert bearer(api_key).get("/api/v1/decisions").status_code == 200
