"""Rewrite the case file's encrypted values from the old library's format (keys derived
from SECRET_KEY) to the current one (keys from FIELD_ENCRYPTION_KEYS alone).

Idempotent and resumable: not atomic as a whole, each batch commits; values already in the
current format are skipped (core/encryption_upgrade.py, docs/security.md).
"""

from django.db import migrations

from core.encryption_upgrade import upgrade_columns

FAMILY = [
    "ircc_reference",
    "current_location",
    "narrative",
    "medical_needs",
    "sgbv_notes",
    "contact_phone",
    "contact_email",
    "address",
]
MEMBER = ["given_name", "family_name", "date_of_birth"]
TABLES = [
    ("families_family", "id", FAMILY),
    ("families_historicalfamily", "history_id", FAMILY),
    ("families_householdmember", "id", MEMBER),
    ("families_historicalhouseholdmember", "history_id", MEMBER),
    ("families_consent", "id", ["details"]),
    ("families_historicalconsent", "history_id", ["details"]),
    ("families_casenote", "id", ["text"]),
    ("families_historicalcasenote", "history_id", ["text"]),
]


def upgrade(apps, schema_editor):
    for table, pk, columns in TABLES:
        upgrade_columns(schema_editor.connection, table, columns, pk=pk, legacy=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("families", "0004_family_archived_on")]

    operations = [migrations.RunPython(upgrade, migrations.RunPython.noop, elidable=True)]
