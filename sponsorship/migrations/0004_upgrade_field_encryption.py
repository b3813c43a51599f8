"""Rewrite sponsorship's encrypted values from the old library's format (keys derived from
SECRET_KEY) to the current one (keys from FIELD_ENCRYPTION_KEYS alone).

Idempotent and resumable: not atomic as a whole, each batch commits; values already in the
current format are skipped (core/encryption_upgrade.py, docs/security.md).
"""

from django.db import migrations

from core.encryption_upgrade import upgrade_columns

TABLES = [
    ("sponsorship_review", "id", ["notes"]),
    ("sponsorship_historicalreview", "history_id", ["notes"]),
    ("sponsorship_checkin", "id", ["summary", "concern"]),
]


def upgrade(apps, schema_editor):
    for table, pk, columns in TABLES:
        upgrade_columns(schema_editor.connection, table, columns, pk=pk, legacy=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("sponsorship", "0003_language_preference")]

    operations = [migrations.RunPython(upgrade, migrations.RunPython.noop, elidable=True)]
