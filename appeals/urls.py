"""The appeals API, under /api/v1/: appellants' appeals and reviewers' work."""

from django.urls import URLPattern, path

from appeals import api, audit_api, dispute_api, known_api, review_api

urlpatterns: list[URLPattern] = []

# The appellants' API: the notice link's token is the credential, no platform key.
urlpatterns += [
    path("appeals", api.AppealCreateApi.as_view(), name="api-appeals"),
    path("appeals/<uuid:public_id>", api.AppealDetailApi.as_view(), name="api-appeal-detail"),
]

# The reviewer API: reviewer tokens only, never a platform key.
urlpatterns += [
    path("review/claim", review_api.ClaimApi.as_view(), name="review-claim"),
    path(
        "review/items/<str:item_id>/decide",
        review_api.DecideApi.as_view(),
        name="review-decide",
    ),
    path(
        "review/items/<str:item_id>/escalate",
        review_api.EscalateApi.as_view(),
        name="review-escalate",
    ),
    path(
        "review/items/<str:item_id>/heartbeat",
        review_api.HeartbeatApi.as_view(),
        name="review-heartbeat",
    ),
    path(
        "review/items/<str:item_id>/release",
        review_api.ReleaseApi.as_view(),
        name="review-release",
    ),
]

# Out-of-court disputes (DSA Article 21): platform keys, each platform its own.
urlpatterns += [
    path("disputes", dispute_api.DisputeListCreateApi.as_view(), name="api-disputes"),
    path(
        "disputes/<str:dispute_id>",
        dispute_api.DisputeDetailApi.as_view(),
        name="api-dispute-detail",
    ),
    path(
        "disputes/<str:dispute_id>/ruling",
        dispute_api.RulingApi.as_view(),
        name="api-dispute-ruling",
    ),
    path(
        "disputes/<str:dispute_id>/implementation",
        dispute_api.ImplementationApi.as_view(),
        name="api-dispute-implementation",
    ),
]

# Blind audit plans: a platform key sets its plan; anyone reads it (no key for GET).
urlpatterns += [
    path("audit/plan", audit_api.AuditPlanApi.as_view(), name="api-audit-plan"),
]

# Known-answer audit items: a platform key plants them on its own decisions.
urlpatterns += [
    path(
        "audit/known-answers",
        known_api.KnownAnswerApi.as_view(),
        name="api-audit-known-answers",
    ),
]
