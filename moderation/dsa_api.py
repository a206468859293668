"""The EU DSA Transparency Database's API, on the ledger: same paths, bodies, codes and errors.

A platform's existing EU client works unchanged against these endpoints (only the base URL and
the token differ). Each statement is recorded as a decision through the same service as the
native API (`services.record_decisions` with `dsa_compatible=True`).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from moderation import dsa, selectors, services
from moderation.api import exception_handler, notice_url
from moderation.auth import PlatformClient, client_api_key, client_platform
from moderation.models import Decision

THROTTLED_BODY = "Limit Reached. Please do not overload the API"


class _PerKeyThrottle(SimpleRateThrottle):
    """The EU's limits are per user (token); ours are per API key."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        user = request.user
        if not isinstance(user, PlatformClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.api_key.pk}


class PerSecondThrottle(_PerKeyThrottle):
    scope = "dsa_second"


class PerMinuteThrottle(_PerKeyThrottle):
    scope = "dsa_minute"


def laravel_errors(errors: dict[str, list[str]]) -> dict[str, Any]:
    """`{"message": "<first> (and N more errors)", "errors": {...}}`, as Laravel answers 422."""
    messages = [m for field in errors.values() for m in field]
    first = messages[0] if messages else "The given data was invalid."
    more = len(messages) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more > 0 else ""
    return {"message": first + suffix, "errors": errors}


class DsaView(APIView):
    throttle_classes = [PerSecondThrottle, PerMinuteThrottle]

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, NotAuthenticated | AuthenticationFailed):
            response = Response({"message": "Unauthenticated."}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        if isinstance(exc, Throttled):
            text = HttpResponse(THROTTLED_BODY, status=429, content_type="text/plain")
            wait = getattr(exc, "wait", None)
            if wait is not None:
                text["Retry-After"] = str(max(1, round(wait)))
            return text
        return super().handle_exception(exc)

    def get_exception_handler(self) -> Any:
        return exception_handler

    def statement(self, decision: Decision, *, with_puid: bool = True) -> dict[str, Any]:
        data = dsa.statement_of(decision)
        if not with_puid:
            # The EU's Statement model hides the puid (and the id) when a statement is read.
            del data["puid"]
        self_url = self.request.build_absolute_uri(
            reverse("dsa-statement", args=[decision.public_id])
        )
        data.update(
            {
                "platform_name": decision.platform.name,
                "permalink": self_url,
                "self": self_url,
                "notice_url": notice_url(self.request, decision.notice_token),
                # The ledger's receipt: where the statement sits in the transparency log.
                "log_index": decision.log_entry_id,
                "leaf_hash": bytes(decision.log_entry.leaf_hash).hex(),
                "receipt_url": notice_url(self.request, decision.notice_token)
                + "/receipt.tlog-proof",
            }
        )
        return data


def _decode(request: Request) -> Any:
    body = request.body
    try:
        return msgspec.json.decode(body)
    except msgspec.ValidationError:
        # Well-formed JSON with a number too large for any type (1e400, or thousands of
        # digits). Decoded again, such a number becomes an infinity that the field's own rule
        # refuses, naming the field, as any other invalid value.
        return _decode_out_of_range(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidJson(str(exc)) from exc
    except RecursionError as exc:
        raise InvalidJson("nested too deeply") from exc


def _decode_out_of_range(body: bytes) -> Any:
    def integer(text: str) -> int | float:
        try:
            return int(text)
        except ValueError:  # more digits than int() converts
            return float("-inf") if text.startswith("-") else float("inf")

    try:
        decoded = json.loads(
            body.decode("utf-8"), parse_int=integer, parse_float=float, parse_constant=_not_json
        )
        # Unlike msgspec, json takes escaped lone surrogates ("\ud800"), which no database
        # can store: refused as msgspec refuses them.
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:
        raise InvalidJson(str(exc)) from exc
    return decoded


def _not_json(name: str) -> Any:
    # NaN and Infinity are Python's extensions, not JSON: malformed, as msgspec says.
    raise ValueError(f"{name} is not JSON")


class InvalidJson(Exception):
    """The body is not JSON (not UTF-8, malformed, or nested deeper than a decoder goes)."""


def _invalid_json(exc: InvalidJson) -> Response:
    return Response(
        {"message": f"Malformed JSON: {exc}", "errors": {"body": ["Malformed JSON."]}},
        status=status.HTTP_400_BAD_REQUEST,
    )


def _record(request: Request, items: list[Any]) -> list[services.Recorded]:
    return services.record_decisions(
        platform=client_platform(request),
        decisions=items,
        api_key=client_api_key(request),
        require_model_for_automation=False,
        dsa_compatible=True,
    )


_UNIQUE_SINGLE = "The identifier given is not unique within this platform."
_UNIQUE_BATCH = "The platform identifier(s) are not all unique within this call."


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# The answers every EU-compatible endpoint may give besides its own.
_COMMON_RESPONSES = {
    401: OpenApiResponse(_ref("DsaMessage"), description='The token is wrong: "Unauthenticated."'),
    (429, "text/plain"): OpenApiResponse(
        response=OpenApiTypes.STR,
        description=f"Past the rate limit: the EU's plain-text {THROTTLED_BODY!r}, with "
        "Retry-After.",
    ),
}
_BODY_RESPONSES = {
    400: OpenApiResponse(_ref("DsaErrors"), description="The body is not JSON; nothing written"),
    413: OpenApiResponse(description="The body is too large; nothing written"),
    **_COMMON_RESPONSES,
}


class StatementCreateApi(DsaView):
    @extend_schema(
        request={"application/json": _ref("DsaStatement")},
        responses={
            201: OpenApiResponse(
                _ref("DsaStatementCreated"),
                description="The stored statement, with its integer id and its puid",
            ),
            422: OpenApiResponse(
                _ref("DsaErrors"),
                description="Invalid, or the puid is already recorded (`existing`); nothing "
                "written",
            ),
            **_BODY_RESPONSES,
        },
        summary="Record one DSA statement of reasons (EU-compatible)",
        tags=["dsa"],
    )
    def post(self, request: Request) -> Response:
        try:
            raw = _decode(request)
        except InvalidJson as exc:
            return _invalid_json(exc)
        decision, errors = dsa.check_statement(raw)
        if decision is None:
            return Response(laravel_errors(errors), status=422)
        platform = client_platform(request)
        try:
            recorded = _record(request, [decision])[0]
        except services.DecisionsRejected as exc:
            return Response(laravel_errors(exc.errors[0]), status=422)
        except services.PuidConflict:
            return Response(
                {
                    "message": _UNIQUE_SINGLE,
                    "errors": {"puid": [_UNIQUE_SINGLE]},
                    "existing": {"puid": decision.puid},
                },
                status=422,
            )
        stored = selectors.get_decision_for_platform(platform, recorded.public_id)
        data = self.statement(stored)
        # As the EU's StatementAPIController::store: the hidden integer id and the puid are
        # shown in this answer only (the decision's primary key is our analogue of its id).
        data["id"] = stored.pk
        data["puid"] = stored.puid
        return Response(data, status=status.HTTP_201_CREATED)


class StatementBatchApi(DsaView):
    @extend_schema(
        request={"application/json": _ref("DsaStatementBatch")},
        responses={
            201: OpenApiResponse(
                _ref("DsaStatementsCreated"), description="The stored statements, in order"
            ),
            422: OpenApiResponse(
                _ref("DsaErrors"),
                description="Errors keyed `statement_N`, or the puids already recorded or "
                "repeated (`existing_puids`); nothing written",
            ),
            **_BODY_RESPONSES,
        },
        summary="Record 1 to 100 DSA statements, all or nothing (EU-compatible)",
        tags=["dsa"],
    )
    def post(self, request: Request) -> Response:
        try:
            raw = _decode(request)
        except InvalidJson as exc:
            return _invalid_json(exc)
        limit = settings.LEDGER_DSA_MAX_BATCH
        statements = raw.get("statements") if isinstance(raw, dict) else None
        # Laravel's `required|array|between:1,N`, in its words.
        if not isinstance(statements, list) or not 1 <= len(statements) <= limit:
            if statements is None or statements == []:
                message = "The statements field is required."
            elif not isinstance(statements, list):
                message = "The statements field must be an array."
            else:
                message = f"The statements field must have between 1 and {limit} items."
            return Response({"message": message, "errors": {"statements": [message]}}, status=422)

        decisions, errors, repeated = dsa.check_statements(statements)
        if errors:
            return Response(
                {"message": "The statements are invalid; none was recorded.", "errors": errors},
                status=422,
            )
        if repeated:
            return self._not_unique(repeated)
        platform = client_platform(request)
        try:
            recorded = _record(request, decisions)
        except services.DecisionsRejected as exc:
            return Response(
                {
                    "message": "The statements are invalid; none was recorded.",
                    "errors": {f"statement_{i}": e for i, e in sorted(exc.errors.items())},
                },
                status=422,
            )
        except services.PuidConflict as exc:
            return self._not_unique(sorted({c.puid for c in exc.conflicts.values()}))
        stored = {
            d.public_id: d
            for d in selectors.decisions_for_platform(platform).filter(
                public_id__in=[r.public_id for r in recorded]
            )
        }
        return Response(
            {"statements": [self.statement(stored[r.public_id]) for r in recorded]},
            status=status.HTTP_201_CREATED,
        )

    def _not_unique(self, puids: list[str]) -> Response:
        return Response(
            {
                "message": _UNIQUE_BATCH,
                "errors": {"puid": [_UNIQUE_BATCH], "existing_puids": puids},
            },
            status=422,
        )


class StatementDetailApi(DsaView):
    @extend_schema(
        responses={
            200: OpenApiResponse(
                _ref("DsaStatementRead"), description="The statement (without puid or id)"
            ),
            404: OpenApiResponse(description="No such statement for this platform"),
            **_COMMON_RESPONSES,
        },
        summary="Read one DSA statement of reasons (EU-compatible)",
        tags=["dsa"],
    )
    def get(self, request: Request, public_id: str) -> Response:
        decision = selectors.get_decision_for_platform(client_platform(request), public_id)
        try:
            return Response(self.statement(decision, with_puid=False))
        except dsa.NotAStatement:
            return Response({"message": "statement of reason not found"}, status=404)


class ExistingPuidApi(DsaView):
    @extend_schema(
        responses={
            302: OpenApiResponse(_ref("DsaMessage"), description="statement of reason found"),
            404: OpenApiResponse(
                _ref("DsaMessage"),
                description="statement of reason not found (also for anything that is not a puid)",
            ),
            **_COMMON_RESPONSES,
        },
        summary="Is this puid recorded? (EU-compatible)",
        tags=["dsa"],
    )
    def get(self, request: Request, puid: str) -> Response:
        # A string that is no puid names no statement; it never reaches the database, where a
        # NUL character in a query parameter is an error on PostgreSQL.
        found = (
            dsa.is_puid(puid)
            and Decision.objects.filter(platform=client_platform(request), puid=puid).exists()
        )
        if found:
            return Response({"message": "statement of reason found", "puid": puid}, status=302)
        return Response({"message": "statement of reason not found", "puid": puid}, status=404)


class DecisionDsaExportApi(APIView):
    @extend_schema(
        responses={
            200: OpenApiResponse(
                _ref("DsaStatementStored"), description="The decision as a DSA statement of reasons"
            ),
            409: OpenApiResponse(description="This kind of decision has no statement"),
        },
        summary="Export a decision as a DSA statement of reasons",
    )
    def get(self, request: Request, public_id: str) -> Response:
        decision = selectors.get_decision_for_platform(client_platform(request), public_id)
        try:
            return Response(dsa.statement_of(decision))
        except dsa.NotAStatement as exc:
            return Response({"detail": str(exc), "errors": {}}, status=409)
