"""ProbeRun and ProbeShard take the shared job shape (decisions.jobs.Job).

Their status names and *_at times already match; a run gains the worker that
started it, a shard the time it was created (existing shards get the time of
this migration).
"""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("probes", "0001_initial"),
        ("decisions", "0003_exportjob_status_succeeded"),
    ]

    operations = [
        migrations.AddField(
            model_name="proberun",
            name="worker",
            field=models.CharField(blank=True, help_text="Who claimed it.", max_length=200),
        ),
        migrations.AddField(
            model_name="probeshard",
            name="created",
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="proberun",
            name="progress",
            field=models.FloatField(default=0, help_text="Percent done, 0-100."),
        ),
        migrations.AlterField(
            model_name="probeshard",
            name="progress",
            field=models.FloatField(default=0, help_text="Percent done, 0-100."),
        ),
        migrations.AlterField(
            model_name="probeshard",
            name="worker",
            field=models.CharField(blank=True, help_text="Who claimed it.", max_length=200),
        ),
    ]
