from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation decisions"

    def ready(self) -> None:
        from moderation import openapi  # noqa: F401  (registers the OpenAPI auth extension)
