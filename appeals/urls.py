"""The appeals API, under /api/v1/: appellants' appeals and reviewers' work."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
