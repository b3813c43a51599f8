"""Record the SHA-256 of each stored settlement plan PDF, so reading it back can check it.

Versions made before this field are hashed from their stored bytes as they are now (nothing
earlier to compare them with); one whose PDF cannot be read keeps an empty hash, which the
check reports as it would a changed file."""

import hashlib
import logging

from django.db import migrations, models

logger = logging.getLogger(__name__)


def record_hashes(apps, schema_editor):
    from evidence import files  # storage and keys: not model state, so safe to import here

    PlanVersion = apps.get_model("evidence", "PlanVersion")
    for version in PlanVersion.objects.filter(pdf_sha256="").iterator():
        try:
            data = files.read_decrypted(version.blob_name)
        except Exception:  # noqa: BLE001 - reported by the check when the PDF is read
            logger.warning("plan version %s: stored PDF unreadable, no hash", version.pk)
            continue
        digest = hashlib.sha256(data).hexdigest()
        PlanVersion.objects.filter(pk=version.pk).update(pdf_sha256=digest)


class Migration(migrations.Migration):

    dependencies = [
        ('evidence', '0002_plural_names'),
    ]

    operations = [
        migrations.AddField(
            model_name='planversion',
            name='pdf_sha256',
            field=models.CharField(default='', editable=False, max_length=64, verbose_name="PDF's SHA-256"),
        ),
        migrations.RunPython(record_hashes, migrations.RunPython.noop),
    ]
