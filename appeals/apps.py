from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "Appeals and review"

    def ready(self) -> None:
        from appeals import bindings

        # verify_log (ledger.audit) checks appeal rows against their log entries through this.
        bindings.register()
