"""/data/: the daily dumps (ledger.public.dumps), listed and served. Reads LEDGER_DUMP_DIR only,
never the database."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from ledger.public import LICENCE, LICENCE_URL, citation, dumps

CONTENT_TYPES = {
    # The file is a gzip archive to be saved as is, not a CSV sent compressed: no
    # Content-Encoding, or browsers would unpack it under a .csv.gz name.
    ".csv.gz": "application/gzip",
    ".parquet": "application/vnd.apache.parquet",
    ".txt": "text/plain; charset=utf-8",
    dumps.SUMS: "text/plain; charset=utf-8",
}
# A complete day never changes (append-only tables, cut after the day ended); today's is cut
# again during the day.
COMPLETE_CACHE = "public, max-age=31536000, immutable"
PARTIAL_CACHE = "public, max-age=60"


@require_safe
def data(request: HttpRequest) -> HttpResponse:
    base = settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    listed = dumps.days()
    latest = listed[0] if listed else None
    response = render(
        request,
        "ledger/public/data.html",
        {
            "days": listed,
            "latest": latest,
            "base": base,
            "licence": LICENCE,
            "licence_url": LICENCE_URL,
            "citation": citation(base, latest.checkpoint_size or 0) if latest else "",
            "kinds": dumps.COLUMNS,
        },
    )
    response["Cache-Control"] = PARTIAL_CACHE
    return response


@require_safe
def data_file(request: HttpRequest, day: str, name: str) -> FileResponse:
    """One of a cut day's files, by its exact name; anything else is a 404."""
    found = dumps.open_file(day, name)
    if found is None:
        raise Http404("No such dump file.")
    file, listed = found
    content_type = next(v for k, v in CONTENT_TYPES.items() if name.endswith(k))
    inline = content_type.startswith("text/")
    response = FileResponse(
        file, content_type=content_type, as_attachment=not inline, filename=name
    )
    response["Cache-Control"] = COMPLETE_CACHE if listed.complete else PARTIAL_CACHE
    response["Access-Control-Allow-Origin"] = "*"
    response["Link"] = f'<{LICENCE_URL}>; rel="license"'
    return response
