"""Plan items name their area of the settlement plan and the group member responsible.

The area of existing templates and items is set by the words of their titles the plan PDF
used to match when it was drawn (the rules are copied here as they were), so every item
stays in the section it was shown and signed in, and a signed version keeps its hash. Only
the catalogue's start-up and month-1 income support item moves, for plans made from now on,
to the new income support area."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# evidence/plan.py's title matching as it was before this migration, in its order.
_OLD_SECTIONS = [
    ("reception", ("arrival", "airport", "reception")),
    ("housing", ("housing", "rent", "lease", "furniture")),
    ("health", ("health", "ifhp", "doctor", "dentist", "mental")),
    ("education", ("school", "education")),
    ("language", ("language", "linc", "english", "french")),
    ("employment", ("employment", "job", "work", "travel loan")),
    (
        "orientation",
        (
            "bank", "social insurance", "orientation", "settlement", "community",
            "transition", "social assistance", "window", "benefit",
        ),
    ),
]  # fmt: skip
INCOME_ITEM = "Start-up funds and month-1 income support given"


def _area(title):
    lowered = title.lower()
    for key, words in _OLD_SECTIONS:
        if any(word in lowered for word in words):
            return key
    return "other"


def set_areas(apps, schema_editor):
    for name in ("MilestoneTemplate", "Milestone"):
        model = apps.get_model("sponsorship", name)
        for pk, title in model.objects.values_list("pk", "title").iterator():
            area = _area(title)
            if area != "other":
                model.objects.filter(pk=pk).update(area=area)
    MilestoneTemplate = apps.get_model("sponsorship", "MilestoneTemplate")
    MilestoneTemplate.objects.filter(title=INCOME_ITEM).update(area="income_support")


class Migration(migrations.Migration):

    dependencies = [
        ('sponsorship', '0013_milestone_continuity'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='milestone',
            name='area',
            field=models.CharField(choices=[('reception', 'Reception'), ('housing', 'Housing'), ('orientation', 'Orientation and community'), ('health', 'Health'), ('education', 'Education'), ('language', 'Language'), ('employment', 'Employment'), ('income_support', 'Income support'), ('other', 'Other commitments')], default='other', max_length=14, verbose_name='area of the settlement plan'),
        ),
        migrations.AddField(
            model_name='milestone',
            name='responsible',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='responsible member'),
        ),
        migrations.AddField(
            model_name='milestonetemplate',
            name='area',
            field=models.CharField(choices=[('reception', 'Reception'), ('housing', 'Housing'), ('orientation', 'Orientation and community'), ('health', 'Health'), ('education', 'Education'), ('language', 'Language'), ('employment', 'Employment'), ('income_support', 'Income support'), ('other', 'Other commitments')], default='other', max_length=14, verbose_name='area of the settlement plan'),
        ),
        migrations.AddConstraint(
            model_name='milestone',
            constraint=models.CheckConstraint(condition=models.Q(('area__in', ['reception', 'housing', 'orientation', 'health', 'education', 'language', 'employment', 'income_support', 'other'])), name='sponsorship_milestone_area_valid'),
        ),
        migrations.AddConstraint(
            model_name='milestonetemplate',
            constraint=models.CheckConstraint(condition=models.Q(('area__in', ['reception', 'housing', 'orientation', 'health', 'education', 'language', 'employment', 'income_support', 'other'])), name='sponsorship_milestonetemplate_area_valid'),
        ),
        migrations.RunPython(set_areas, migrations.RunPython.noop),
    ]
