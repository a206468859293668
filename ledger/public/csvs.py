"""GET /stats/<name>.csv: each table of the public statistics as RFC 4180 CSV (UTF-8, CRLF,
a header row of the table's column keys), with the same filters as the summary API.

RFC 4180 has no comment lines, so what a reader needs to cite the numbers travels in response
headers: the log checkpoint counted (`Ledger-Checkpoint`, its size, and `Ledger-Checkpoint-Root`,
its base64 root hash, as the DSA report sends them) and the licence (`Link`, rel "license",
RFC 8288).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from ledger.public import LICENCE_URL, queries
from ledger.public.api import CACHE_CONTROL


def cell(value: Any) -> str:
    """A value as CSV text: days ISO 8601, yes/no as true/false, null as an empty field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_csv(table: queries.Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([cell(value) for value in row] for row in table.rows)
    return out.getvalue()


@require_safe
def table_csv(request: HttpRequest, name: str) -> HttpResponse:
    if name not in queries.TABLES:
        raise Http404(f"No statistics table {name!r}.")
    filters, errors = queries.parse_filters(request.GET)
    if errors:
        lines = [
            f"{param}: {problem}" for param, problems in errors.items() for problem in problems
        ]
        response = HttpResponse(
            "Invalid parameters.\n" + "\n".join(lines) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
        response["Access-Control-Allow-Origin"] = "*"
        return response
    # From the (cached) summary: every table of one view comes from one snapshot.
    result = queries.summary(filters)
    table, upto, checkpoint = result.tables[name], result.counted_upto, result.checkpoint
    response = HttpResponse(to_csv(table).encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["Ledger-Checkpoint"] = str(upto)
    if checkpoint is not None:
        response["Ledger-Checkpoint-Root"] = checkpoint["root_hash"]
    response["Link"] = f'<{LICENCE_URL}>; rel="license"'
    response["Cache-Control"] = CACHE_CONTROL
    response["Access-Control-Allow-Origin"] = "*"
    return response
