"""The log's public read API (no authentication): checkpoints, entries, proofs, tiles, receipts.

Anyone can check the log with these: fetch the signed checkpoint, verify it with the key,
fetch entries and recompute their leaf hashes, and ask for inclusion and consistency proofs
(RFC 9162 §2.1.3, §2.1.4). The same tree is served as C2SP tlog-tiles under /log/tile/ for
existing tlog clients.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger import log, tiles
from ledger.models import LogEntry

MAX_PAGE = 1000
IMMUTABLE = "public, max-age=31536000, immutable"


class PublicApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class BadParameters(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid parameters")
        self.errors = errors


# Log indices and sizes are PostgreSQL bigints.
BIGINT_MAX = 2**63 - 1


def _int_params(request: Request, *names: str, optional: tuple[str, ...] = ()) -> dict[str, int]:
    """The integer parameters `names` (required) and `optional`; a bad one, or one the endpoint
    does not take (a misspelt `end` would be ignored), is named with every other problem."""
    values: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    takes = (*names, *optional)
    for unknown in sorted(set(request.query_params) - {*takes, "format"}):
        errors[unknown[:100]] = [f"Unknown parameter; this one takes {', '.join(takes)}."]
    for name in takes:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            if name not in optional:
                errors[name] = ["This parameter is required."]
            continue
        # ASCII only: str.isdigit() alone also accepts "²", which int() refuses, and other
        # scripts' digits.
        if not raw.isascii() or not raw.isdigit():
            errors[name] = [f"Must be a non-negative integer, not {raw[:40]!r}."]
            continue
        if len(raw) > 19 or int(raw) > BIGINT_MAX:
            errors[name] = [f"Must be at most {BIGINT_MAX}."]
            continue
        values[name] = int(raw)
    if errors:
        raise BadParameters(errors)
    return values


def _bad(errors: dict[str, list[str]], detail: str = "Invalid parameters.") -> Response:
    return Response({"detail": detail, "errors": errors}, status=400)


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "errors": {"type": "object"}},
}
_BAD_PARAMETERS = OpenApiResponse(
    _ERROR_SCHEMA, description="A parameter is missing, invalid or unknown: each is named"
)


class EntryOut(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    type = serializers.CharField(help_text="decision, policy, model_version, ...")
    payload = serializers.CharField(
        help_text="The exact string hashed: canonical JSON of the entry's public fields."
    )
    leaf_hash = serializers.CharField(help_text="SHA-256(0x00 || payload), hex (RFC 9162).")


class EntriesOut(serializers.Serializer[Any]):
    entries = EntryOut(many=True)
    start = serializers.IntegerField(help_text="The first index asked for.")
    end = serializers.IntegerField(
        help_text="Where this page stops (exclusive): the end asked for, or less when the page "
        f"reached its cap of {MAX_PAGE} entries or the log's end."
    )
    size = serializers.IntegerField(help_text="The log's size when read.")
    limit = serializers.IntegerField(help_text="The most entries one page holds.")
    next = serializers.URLField(
        allow_null=True,
        help_text="The rest of the range asked for (also in the Link header), or null when "
        "this page holds all of it that the log has.",
    )


class InclusionOut(serializers.Serializer[Any]):
    leaf_index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    audit_path = serializers.ListField(
        child=serializers.CharField(), help_text="Base64 hashes, the leaf's sibling first."
    )


class ConsistencyOut(serializers.Serializer[Any]):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    consistency = serializers.ListField(
        child=serializers.CharField(), help_text="Base64 hashes (RFC 9162 §2.1.4)."
    )


def entry_json(entry: LogEntry) -> dict[str, Any]:
    return {
        "index": entry.index,
        "type": entry.entry_type,
        "payload": entry.payload,
        "leaf_hash": bytes(entry.leaf_hash).hex(),
    }


class EntriesApi(PublicApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.INT, required=True),
            OpenApiParameter(
                "end",
                OpenApiTypes.INT,
                description=f"Exclusive; the log's end when omitted. A page holds at most "
                f"{MAX_PAGE} entries: `next` (and the Link header) asks for the rest.",
            ),
        ],
        responses={200: EntriesOut, 400: _BAD_PARAMETERS},
        summary=f"Log entries [start, end), oldest first, at most {MAX_PAGE} a page",
        operation_id="log_entries_list",
        tags=["log"],
    )
    def get(self, request: Request) -> Response:
        try:
            params = _int_params(request, "start", optional=("end",))
        except BadParameters as exc:
            return _bad(exc.errors)
        start = params["start"]
        asked = params.get("end")
        if asked is not None and asked < start:
            return _bad({"end": ["Must not be less than start."]})
        # Read the size first and stop there: the range then never reaches past the log, nor
        # past a bigint however large start is.
        size = log.size()
        wanted = size if asked is None else min(asked, size)
        end = max(start, min(wanted, start + MAX_PAGE))
        entries = list(LogEntry.objects.filter(index__gte=start, index__lt=end).order_by("index"))
        following = None
        if end < wanted:
            rest = f"?start={end}" + ("" if asked is None else f"&end={asked}")
            following = request.build_absolute_uri(reverse("log-entries") + rest)
        response = Response(
            {
                "entries": [entry_json(e) for e in entries],
                "start": start,
                "end": end,
                "size": size,
                "limit": MAX_PAGE,
                "next": following,
            }
        )
        if following is not None:
            response["Link"] = f'<{following}>; rel="next"'
        return response


class EntryApi(PublicApi):
    @extend_schema(
        responses={
            200: EntryOut,
            404: OpenApiResponse(_ERROR_SCHEMA, description="The log holds no such entry"),
        },
        summary="One log entry",
        operation_id="log_entry_retrieve",
        tags=["log"],
    )
    def get(self, request: Request, index: int) -> Response:
        entry = LogEntry.objects.filter(index=index).first() if index <= BIGINT_MAX else None
        if entry is None:
            return Response(
                {"detail": f"No entry {index}; the log has {log.size()}.", "errors": {}},
                status=404,
            )
        return Response(entry_json(entry))


class InclusionProofApi(PublicApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("index", OpenApiTypes.INT, required=True),
            OpenApiParameter("tree_size", OpenApiTypes.INT, required=True),
        ],
        responses={200: InclusionOut, 400: _BAD_PARAMETERS},
        summary="RFC 9162 inclusion proof (audit path, leaf sibling first)",
        tags=["log"],
    )
    def get(self, request: Request) -> Response:
        try:
            params = _int_params(request, "index", "tree_size")
            path = log.inclusion_proof(params["index"], params["tree_size"])
        except BadParameters as exc:
            return _bad(exc.errors)
        except log.LogError as exc:
            return _bad({exc.field or "index": [str(exc)]}, str(exc))
        return Response(
            {
                "leaf_index": params["index"],
                "tree_size": params["tree_size"],
                "audit_path": [log.b64(h) for h in path],
            }
        )


class ConsistencyProofApi(PublicApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("first", OpenApiTypes.INT, required=True),
            OpenApiParameter("second", OpenApiTypes.INT, required=True),
        ],
        responses={200: ConsistencyOut, 400: _BAD_PARAMETERS},
        summary="RFC 9162 consistency proof between two tree sizes",
        tags=["log"],
    )
    def get(self, request: Request) -> Response:
        try:
            params = _int_params(request, "first", "second")
            proof = log.consistency_proof(params["first"], params["second"])
        except BadParameters as exc:
            return _bad(exc.errors)
        except log.LogError as exc:
            return _bad({exc.field or "first": [str(exc)]}, str(exc))
        return Response(
            {
                "first": params["first"],
                "second": params["second"],
                "consistency": [log.b64(h) for h in proof],
            }
        )


def _text(body: str | bytes, status: int = 200, cache: str = "no-cache") -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = cache
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def checkpoint(request: HttpRequest) -> HttpResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint), as tlog clients fetch it."""
    latest = log.latest_checkpoint()
    if latest is None:
        return _text("No checkpoint has been signed yet.\n", status=404)
    # tlog-tiles: the checkpoint is the one mutable resource; cache it for seconds at most.
    return _text(latest.note, cache="public, max-age=5")


@require_safe
def verifier_key(request: HttpRequest) -> HttpResponse:
    return _text(log.signer().vkey + "\n", cache="public, max-age=3600")


def _not_yet(message: str) -> HttpResponse:
    """A tile the log will hold once it grows: a client asks for the full tile before the
    partial one, so a cache in front (a CDN) must not keep this 404 past its next request."""
    return _text(message, status=404, cache="no-store")


@require_safe
def tile(request: HttpRequest, path: str) -> HttpResponse:
    """A hash tile or an entry bundle (C2SP tlog-tiles). Full tiles never change; a partial
    tile is served whenever the log holds at least its width, which is a prefix of the full
    tile, so it never changes either."""
    try:
        wanted = tiles.parse_tile_path(f"tile/{path}")
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    size = log.size()
    first = wanted.index * tiles.TILE_WIDTH
    if wanted.level == tiles.ENTRIES_LEVEL:
        if first + wanted.width > size:
            return _not_yet("The log does not hold these entries yet.\n")
        payloads = (
            LogEntry.objects.filter(index__gte=first, index__lt=first + wanted.width)
            .order_by("index")
            .values_list("payload", flat=True)
        )
        body = tiles.encode_entry_bundle(p.encode() for p in payloads)
    else:
        level = wanted.level * tiles.TILE_HEIGHT
        if first + wanted.width > size >> level:
            return _not_yet("The log does not hold this tile yet.\n")
        body = b"".join(log.level_hashes(level, first, wanted.width))
    response = HttpResponse(body, content_type="application/octet-stream")
    response["Cache-Control"] = IMMUTABLE
    response["Access-Control-Allow-Origin"] = "*"
    return response
