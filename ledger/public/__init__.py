"""The public, read-only side built on everything else (DESIGN.md, floor 5): statistics, public
pages, reports and data dumps, and the roll-up tables they read. Nothing below this package
imports from it.

Kept free of Django imports at module level: it is imported while Django sets up its apps.
"""

from __future__ import annotations

# Open data: what the public side publishes may be reused with attribution.
LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"


def citation(base_url: str, checkpoint_size: int) -> str:
    """The line to cite a number, page or dump by: where it came from and the log it reflects."""
    where = base_url.rstrip("/") or "this moderation-decision ledger"
    return (
        f"Moderation-decision transparency ledger, {where}, log checkpoint of size "
        f"{checkpoint_size}. Licensed {LICENCE} ({LICENCE_URL})."
    )
