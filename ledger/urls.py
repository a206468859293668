from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ledger import api as log_api
from ledger import health, pages
from ledger.public import api as public_api
from ledger.public.caching import per_generation

urlpatterns = [
    path("", pages.home, name="home"),
    path("notice/<str:token>", pages.notice, name="notice"),
    path("notice/<str:token>/receipt.tlog-proof", pages.receipt, name="notice-receipt"),
    path("log/checkpoint", log_api.checkpoint, name="log-checkpoint"),
    path("log/key", log_api.verifier_key, name="log-key"),
    path("log/tile/<path:path>", log_api.tile, name="log-tile"),
    path("health/", health.LedgerHealthView.as_view(), name="health"),
    path("metrics", health.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("moderation.urls")),
    path("api/v1/", include("appeals.urls")),
    path("api/v1/log/entries", log_api.EntriesApi.as_view(), name="log-entries"),
    path("api/v1/log/entries/<int:index>", log_api.EntryApi.as_view(), name="log-entry"),
    path("api/v1/log/proof/inclusion", log_api.InclusionProofApi.as_view(), name="log-inclusion"),
    path(
        "api/v1/log/proof/consistency",
        log_api.ConsistencyProofApi.as_view(),
        name="log-consistency",
    ),
    path(
        "api/v1/stats/models",
        per_generation(public_api.ModelStatsApi.as_view()),
        name="stats-models",
    ),
    path("", include("ledger.public.urls")),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
