"""The public side's pages, reports and downloads (no login). Each block belongs to one part of
the public side; keep them apart."""

from __future__ import annotations

from django.urls import URLPattern, path

from ledger.public import csvs, data_views, pages, report_views, summary_api
from ledger.public.caching import per_generation

urlpatterns: list[URLPattern] = [
    # -- statistics pages (/stats/) and the home page --
    path("stats/", per_generation(pages.stats), name="stats"),
    # -- statistics as JSON and CSV (/api/v1/stats/summary, /stats/<table>.csv) --
    path(
        "api/v1/stats/summary",
        per_generation(summary_api.SummaryApi.as_view()),
        name="stats-summary",
    ),
    path("stats/<slug:name>.csv", per_generation(csvs.table_csv), name="stats-csv"),
    # -- the DSA transparency report (/api/v1/reports/dsa, /reports/dsa/) --
    path(
        "api/v1/reports/dsa", per_generation(report_views.DsaReportApi.as_view()), name="report-dsa"
    ),
    path("reports/dsa/", per_generation(report_views.dsa_report_page), name="report-dsa-page"),
    # -- daily dumps (/data/) --
    path("data/", data_views.data, name="data"),
    path("data/<str:day>/<str:name>", data_views.data_file, name="data-file"),
]
