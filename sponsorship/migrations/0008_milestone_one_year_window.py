# The One-Year Window milestone falls due on the calendar day the window closes (the same
# rule as the household-member check), not 365 days after arrival.

from django.db import migrations, models

from families.models import one_year_window_closes

TITLE = "One-Year Window closes for non-accompanying family"


def flag_and_redate(apps, schema_editor):
    MilestoneTemplate = apps.get_model("sponsorship", "MilestoneTemplate")
    Milestone = apps.get_model("sponsorship", "Milestone")
    MilestoneTemplate.objects.filter(title=TITLE).update(due_at_one_year_window=True)
    open_items = Milestone.objects.filter(
        template__due_at_one_year_window=True,
        completed_on__isnull=True,
        waived_on__isnull=True,
        sponsorship__arrival_date__isnull=False,
    ).select_related("sponsorship")
    for milestone in open_items:
        milestone.due_on = one_year_window_closes(milestone.sponsorship.arrival_date)
        milestone.save(update_fields=["due_on"])


class Migration(migrations.Migration):
    dependencies = [
        ("sponsorship", "0007_merge_20261129_0635"),
    ]

    operations = [
        migrations.AddField(
            model_name="milestonetemplate",
            name="due_at_one_year_window",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Due on the same calendar day a year after arrival (the day the One-Year "
                    "Window closes) instead of a number of days after arrival."
                ),
                verbose_name="due when the One-Year Window closes",
            ),
        ),
        migrations.RunPython(flag_and_redate, migrations.RunPython.noop),
    ]
