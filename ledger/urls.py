from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ledger import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("notice/<str:token>", pages.notice, name="notice"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("moderation.urls")),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
