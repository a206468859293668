"""Re-creates 0003's no-self-review triggers on SQLite: 0004 rebuilt the review tables there
(SQLite adds a unique column or a constraint by copying the table), which drops their
triggers. On PostgreSQL they survived and `CREATE OR REPLACE` leaves them as they are.
"""

import importlib

from django.db import migrations

no_self_review = importlib.import_module("appeals.migrations.0003_no_self_review")


class Migration(migrations.Migration):
    dependencies = [("appeals", "0004_audits_disputes_approvals")]

    operations = [
        migrations.RunPython(
            no_self_review._run({"sqlite": no_self_review.SQLITE}),
            no_self_review._run({"sqlite": no_self_review.SQLITE_DROP}),
        )
    ]
