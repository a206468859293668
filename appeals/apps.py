from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "Appeals and review"

    def ready(self) -> None:
        from appeals import bindings

        # verify_log (ledger.audit) checks appeal rows against their log entries through this.
        bindings.register()

        from appeals.audit import sample_recorded
        from moderation.services import on_recorded

        # Blind audit sampling runs in each batch's recording transaction; moderation cannot
        # import appeals (the floors), so appeals hooks itself in.
        on_recorded(sample_recorded)
