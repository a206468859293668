"""The public appeals API, for platforms that embed appeals in their own apps: HTTP only.

No platform key: the notice link's token is the credential, as on the notice page. A token
names one decision and one appellant (the person the decision is about, or the person who
reported the content); it files that appellant's appeal and reads only that appeal. Anything
else answers 404, the same as an appeal that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.models import MAX_STATEMENT_LENGTH, Appeal, AppealStatus, Appellant, Outcome
from appeals.notice import Holder, appeal_answer, holder_of, own_appeal_by_id, was_escalated
from appeals.services import AppealRejected, file_appeal, statement_errors
from moderation.api import StrictCharField, StrictSerializer, notice_url

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "errors": {"type": "object"}},
}
_UNKNOWN_TOKEN = "No notice has this token: check the link the platform gave you."  # noqa: S105
_DECIDED = (AppealStatus.UPHELD, AppealStatus.OVERTURNED, AppealStatus.MODIFIED)


class AppealIn(StrictSerializer):
    token = StrictCharField(
        max_length=64,
        trim_whitespace=False,
        help_text="The token of the notice link (the last part of /notice/<token>): the "
        "affected person's, or the notifier's.",
    )
    # Checked by appeals.services.file_appeal, whose messages name every problem.
    statement = StrictCharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text=f"Why the decision is wrong, 1 to {MAX_STATEMENT_LENGTH} characters. Private: "
        "only the platform's reviewers read it; it is never published or logged.",
    )


# Inline rather than a ChoiceField: the reviewer API's `outcome` (which includes "escalated")
# would otherwise share, and so rename, the schema's OutcomeEnum component.
@extend_schema_field(
    {
        "type": "string",
        # An appeal's outcomes only: not escalations, audit labels or answers to proposals.
        "enum": [Outcome.UPHELD.value, Outcome.OVERTURNED.value, Outcome.MODIFIED.value, None],
        "nullable": True,
    }
)
class DecidedOutcomeField(serializers.CharField):
    pass


class ReversalOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    notice_url = serializers.CharField(allow_null=True)


class AppealOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=AppealStatus.choices,
        help_text="filed, in_review, then upheld, overturned or modified. awaiting_approval: "
        "a reviewer proposed a high-impact outcome (upholding an account termination, changing "
        "a decision taken on a legal order), which takes effect only once a second, different "
        "reviewer approves it; until then nothing changes and `outcome` is null. If the second "
        "reviewer rejects it, the appeal is in_review again, with a senior reviewer.",
    )
    deadline = serializers.DateTimeField(help_text="When the answer is due.")
    appellant = serializers.ChoiceField(choices=Appellant.choices)
    decision = serializers.UUIDField(help_text="The id of the decision appealed.")
    filed_at = serializers.DateTimeField()
    outcome = DecidedOutcomeField(
        allow_null=True, help_text="upheld, overturned or modified once decided, else null."
    )
    reason = serializers.CharField(
        allow_null=True, help_text="The reviewer's reason, once decided, else null."
    )
    decided_at = serializers.DateTimeField(allow_null=True)
    escalated = serializers.BooleanField(
        help_text="Passed to a senior reviewer (escalated, or a proposed outcome rejected by the "
        "second reviewer), while undecided."
    )
    reversal = ReversalOut(
        allow_null=True,
        help_text="The decision an overturn or modification recorded (the affected person's "
        "appeals only), else null.",
    )
    notice_url = serializers.CharField(help_text="The notice page, where the appeal is shown.")


def appeal_out(request: Request, appeal: Appeal, holder: Holder) -> dict[str, Any]:
    answer = appeal_answer(appeal) if appeal.status in _DECIDED else None
    reversal = None
    if answer is not None and answer.reversal is not None:
        # The reversal's notice link is the affected person's: never handed to a notifier.
        reversal = {
            "id": answer.reversal.public_id,
            "notice_url": None
            if holder.is_notifier
            else notice_url(request, answer.reversal.notice_token),
        }
    return AppealOut(
        {
            "id": appeal.public_id,
            "status": appeal.status,
            "deadline": appeal.deadline_at,
            "appellant": appeal.appellant,
            "decision": holder.decision.public_id,
            "filed_at": appeal.filed_at,
            "outcome": None if answer is None else answer.outcome,
            "reason": None if answer is None else answer.reason,
            "decided_at": None if answer is None else answer.decided_at,
            "escalated": answer is None and was_escalated(appeal),
            "reversal": reversal,
            "notice_url": notice_url(request, holder.token),
        }
    ).data


def _refused(code: int, detail: str, errors: dict[str, Any]) -> Response:
    return Response({"detail": detail, "errors": errors}, status=code)


class PublicAppealsApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class AppealCreateApi(PublicAppealsApi):
    @extend_schema(
        request=AppealIn,
        responses={
            201: AppealOut,
            400: OpenApiResponse(
                _ERROR_SCHEMA,
                description="Invalid (every problem named: statement, decision, ...); nothing "
                "was written",
            ),
            404: OpenApiResponse(_ERROR_SCHEMA, description="No notice has this token"),
            409: OpenApiResponse(
                _ERROR_SCHEMA, description="This token's holder already appealed this decision"
            ),
        },
        summary="Appeal a decision, with the notice link's token",
        tags=["appeals"],
    )
    def post(self, request: Request) -> Response:
        data = request.data
        form = AppealIn(data=data)
        errors: dict[str, Any] = {} if form.is_valid() else dict(form.errors)
        token = data.get("token") if isinstance(data, dict) else None
        statement = data.get("statement") if isinstance(data, dict) else None
        holder = None
        if isinstance(token, str) and "token" not in errors:
            try:
                holder = holder_of(token)
            except Http404:
                errors["token"] = [_UNKNOWN_TOKEN]
        if holder is None:
            # Name the statement's problems too, as file_appeal would have.
            if (
                isinstance(statement, str)
                and "statement" not in errors
                and (problems := statement_errors(statement))
            ):
                errors["statement"] = problems
            # 404 when the token is the trouble; a body of the wrong shape is a 400 first.
            unknown = errors.get("token") == [_UNKNOWN_TOKEN] and set(errors) <= {
                "token",
                "statement",
            }
            return _refused(
                404 if unknown else 400,
                "No notice has this token; nothing was written."
                if unknown
                else "Invalid appeal; nothing was written.",
                errors,
            )
        if errors:
            return _refused(400, "Invalid appeal; nothing was written.", errors)
        assert isinstance(statement, str)  # the form checked it
        try:
            appeal = file_appeal(
                decision=holder.decision,
                appellant=holder.appellant,
                statement=statement,
                now=timezone.now(),
            )
        except AppealRejected as exc:
            if "appellant" in exc.errors:
                return _refused(
                    409, "This decision was already appealed with this link.", exc.errors
                )
            return _refused(400, "Invalid appeal; nothing was written.", exc.errors)
        return Response(appeal_out(request, appeal, holder), status=status.HTTP_201_CREATED)


class AppealDetailApi(PublicAppealsApi):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "token",
                OpenApiTypes.STR,
                required=True,
                description="The token of the notice link the appeal was filed with.",
            )
        ],
        responses={
            200: AppealOut,
            400: OpenApiResponse(_ERROR_SCHEMA, description="No token given"),
            404: OpenApiResponse(
                _ERROR_SCHEMA, description="No such appeal for this token (or no such token)"
            ),
        },
        summary="An appeal's status, deadline and, once decided, outcome and reason",
        tags=["appeals"],
    )
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        token = request.query_params.get("token", "")
        if not token:
            return _refused(
                400,
                "Give the notice link's token as ?token=.",
                {"token": ["This parameter is required."]},
            )
        try:
            holder = holder_of(token)
            appeal = own_appeal_by_id(holder, public_id)
        except Http404:
            return _refused(404, "No such appeal for this token.", {})
        return Response(appeal_out(request, appeal, holder))
