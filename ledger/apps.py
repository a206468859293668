from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Public ledger"

    def ready(self) -> None:
        # Importing the Celery app here (not in ledger/__init__) binds shared tasks to our
        # configured broker while keeping `python -m ledger.verify` free of Django and Celery.
        from ledger import celery  # noqa: F401
        from ledger.db import install_append_only_triggers
        from ledger.log import forget_cached_nodes

        post_migrate.connect(install_append_only_triggers, dispatch_uid="ledger-append-only")
        # A flush (tests) throws the log away; the next log reuses the same node positions.
        post_migrate.connect(forget_cached_nodes, dispatch_uid="ledger-node-cache")
        # The start-up checks of a production configuration (keys, secrets) register on import.
        from ledger import checks  # noqa: F401
