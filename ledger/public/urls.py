"""The public side's pages, reports and downloads (no login). Each block belongs to one part of
the public side; keep them apart."""

from __future__ import annotations

from django.urls import URLPattern, path

urlpatterns: list[URLPattern] = [
    # -- statistics pages (/stats/) and the home page --
    # -- statistics as JSON and CSV (/api/v1/stats/summary, /stats/<table>.csv) --
    # -- the DSA transparency report (/api/v1/reports/dsa, /reports/dsa/) --
    # -- daily dumps (/data/) --
]
