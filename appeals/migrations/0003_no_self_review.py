"""Nobody reviews a decision they made, or an item they already reviewed: the database refuses
it, whatever code path claims an item or writes a review (the service checks first, to say so
in words; this is the guard behind it).

A reviewer "made" a decision when they are its `moderator` (the admin's user), or when the
decision's `moderator_ref` (the pseudonym of the platform's own moderator id, sent over the API)
is the one their platform membership carries.
"""

from django.db import migrations

MESSAGE_OWN = "nobody reviews their own decision"
MESSAGE_AGAIN = "nobody reviews an item they already reviewed"

_MADE_IT = """
    SELECT 1 FROM moderation_decision d JOIN appeals_reviewer r ON r.id = {reviewer}
    WHERE d.id = {decision} AND (
        d.moderator_id = r.user_id OR (
            d.moderator_ref <> '' AND EXISTS (
                SELECT 1 FROM moderation_platformmember m
                WHERE m.user_id = r.user_id AND m.platform_id = d.platform_id
                  AND m.moderator_ref = d.moderator_ref)))
"""
_REVIEWED_IT = "SELECT 1 FROM appeals_review v WHERE v.item_id = {item} AND v.reviewer_id = {reviewer}"

POSTGRES = [
    f"""
CREATE OR REPLACE FUNCTION appeals_item_claim_guard() RETURNS trigger AS $$
BEGIN
    IF EXISTS ({_MADE_IT.format(reviewer="NEW.claimed_by_id", decision="NEW.decision_id")}) THEN
        RAISE EXCEPTION '{MESSAGE_OWN}' USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS ({_REVIEWED_IT.format(item="NEW.id", reviewer="NEW.claimed_by_id")}) THEN
        RAISE EXCEPTION '{MESSAGE_AGAIN}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql
""",
    """
CREATE OR REPLACE TRIGGER appeals_item_claim_guard
BEFORE INSERT OR UPDATE OF claimed_by_id ON appeals_reviewitem
FOR EACH ROW WHEN (NEW.claimed_by_id IS NOT NULL) EXECUTE FUNCTION appeals_item_claim_guard()
""",
    f"""
CREATE OR REPLACE FUNCTION appeals_review_guard() RETURNS trigger AS $$
BEGIN
    IF EXISTS ({
        _MADE_IT.format(
            reviewer="NEW.reviewer_id",
            decision="(SELECT i.decision_id FROM appeals_reviewitem i WHERE i.id = NEW.item_id)",
        )
    }) THEN
        RAISE EXCEPTION '{MESSAGE_OWN}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql
""",
    """
CREATE OR REPLACE TRIGGER appeals_review_guard
BEFORE INSERT ON appeals_review
FOR EACH ROW WHEN (NEW.reviewer_id IS NOT NULL) EXECUTE FUNCTION appeals_review_guard()
""",
]

POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS appeals_item_claim_guard ON appeals_reviewitem",
    "DROP TRIGGER IF EXISTS appeals_review_guard ON appeals_review",
    "DROP FUNCTION IF EXISTS appeals_item_claim_guard()",
    "DROP FUNCTION IF EXISTS appeals_review_guard()",
]


def _sqlite_claim(event: str) -> list[str]:
    made = _MADE_IT.format(reviewer="NEW.claimed_by_id", decision="NEW.decision_id")
    again = _REVIEWED_IT.format(item="NEW.id", reviewer="NEW.claimed_by_id")
    return [
        f"""
CREATE TRIGGER IF NOT EXISTS appeals_item_claim_guard_{event.split()[0].lower()}_own
BEFORE {event} ON appeals_reviewitem FOR EACH ROW
WHEN NEW.claimed_by_id IS NOT NULL AND EXISTS ({made})
BEGIN SELECT RAISE(ABORT, '{MESSAGE_OWN}'); END
""",
        f"""
CREATE TRIGGER IF NOT EXISTS appeals_item_claim_guard_{event.split()[0].lower()}_again
BEFORE {event} ON appeals_reviewitem FOR EACH ROW
WHEN NEW.claimed_by_id IS NOT NULL AND EXISTS ({again})
BEGIN SELECT RAISE(ABORT, '{MESSAGE_AGAIN}'); END
""",
    ]


SQLITE = [
    *_sqlite_claim("INSERT"),
    *_sqlite_claim("UPDATE OF claimed_by_id"),
    f"""
CREATE TRIGGER IF NOT EXISTS appeals_review_guard
BEFORE INSERT ON appeals_review FOR EACH ROW
WHEN NEW.reviewer_id IS NOT NULL AND EXISTS ({
        _MADE_IT.format(
            reviewer="NEW.reviewer_id",
            decision="(SELECT i.decision_id FROM appeals_reviewitem i WHERE i.id = NEW.item_id)",
        )
    })
BEGIN SELECT RAISE(ABORT, '{MESSAGE_OWN}'); END
""",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS appeals_item_claim_guard_insert_own",
    "DROP TRIGGER IF EXISTS appeals_item_claim_guard_insert_again",
    "DROP TRIGGER IF EXISTS appeals_item_claim_guard_update_own",
    "DROP TRIGGER IF EXISTS appeals_item_claim_guard_update_again",
    "DROP TRIGGER IF EXISTS appeals_review_guard",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("appeals", "0002_review_queues"),
        ("moderation", "0002_members_webhooks_audit_notifier"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP}),
        )
    ]
