from django.db import migrations

ROLES = ("Program manager", "Case worker", "Fundraising staff")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    """Staff roles as Django groups; their permissions are set after migrate (core/roles.py)."""

    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
