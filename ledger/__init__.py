"""The public, verifiable side of the moderation ledger, and the Django project package.

This module must stay free of Django and Celery imports: `python -m ledger.verify` runs with
only the standard library and `cryptography` installed (see DESIGN.md, floor 1).
"""
