from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation decisions"

    def ready(self) -> None:
        from moderation import (
            bindings,
            openapi,  # noqa: F401  (registers the OpenAPI auth extension)
        )

        # verify_log (ledger.audit, a floor below) checks our rows against the log through
        # these; it cannot import moderation itself.
        bindings.register()
