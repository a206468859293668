from django.urls import path

from moderation import api

urlpatterns = [
    path("decisions", api.DecisionListCreateApi.as_view(), name="api-decisions"),
    path("decisions/batch", api.DecisionBatchApi.as_view(), name="api-decisions-batch"),
    path(
        "decisions/<uuid:public_id>", api.DecisionDetailApi.as_view(), name="api-decision-detail"
    ),
    path("models", api.ModelVersionListCreateApi.as_view(), name="api-models"),
    path("policies", api.PolicyListCreateApi.as_view(), name="api-policies"),
]
