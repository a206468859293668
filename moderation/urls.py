from django.urls import path

from moderation import api, dsa_api

urlpatterns = [
    path("decisions", api.DecisionListCreateApi.as_view(), name="api-decisions"),
    path("decisions/batch", api.DecisionBatchApi.as_view(), name="api-decisions-batch"),
    path("decisions/<uuid:public_id>", api.DecisionDetailApi.as_view(), name="api-decision-detail"),
    path(
        "decisions/<uuid:public_id>/dsa",
        dsa_api.DecisionDsaExportApi.as_view(),
        name="api-decision-dsa",
    ),
    path("models", api.ModelVersionListCreateApi.as_view(), name="api-models"),
    path("policies", api.PolicyListCreateApi.as_view(), name="api-policies"),
    path("forwarding/eu", api.EuForwardingApi.as_view(), name="api-eu-forwarding"),
    path("webhooks", api.WebhookApi.as_view(), name="api-webhooks"),
    # The EU DSA Transparency Database's API, same paths.
    path("statement", dsa_api.StatementCreateApi.as_view(), name="dsa-statement-create"),
    path("statements", dsa_api.StatementBatchApi.as_view(), name="dsa-statements"),
    path(
        "statement/existing-puid/<str:puid>",
        dsa_api.ExistingPuidApi.as_view(),
        name="dsa-existing-puid",
    ),
    path("statement/<uuid:public_id>", dsa_api.StatementDetailApi.as_view(), name="dsa-statement"),
]
