"""ExportJob takes the shared job shape (decisions.jobs.Job).

started/finished become started_at/finished_at (renamed, so existing rows keep
their times) and the claim's worker and heartbeat are added; 0003 renames the
status "done" to "succeeded". The data change has a migration of its own:
PostgreSQL refuses to ALTER a table in the transaction that updated its rows.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="exportjob", old_name="started", new_name="started_at"),
        migrations.RenameField(model_name="exportjob", old_name="finished", new_name="finished_at"),
        migrations.AddField(
            model_name="exportjob",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exportjob",
            name="worker",
            field=models.CharField(blank=True, help_text="Who claimed it.", max_length=200),
        ),
        migrations.AlterField(
            model_name="exportjob",
            name="progress",
            field=models.FloatField(default=0, help_text="Percent done, 0-100."),
        ),
        migrations.AlterField(
            model_name="exportjob",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                    ("interrupted", "Interrupted"),
                ],
                default="queued",
                max_length=12,
            ),
        ),
        migrations.AddIndex(
            model_name="exportjob",
            index=models.Index(fields=["status"], name="decisions_e_status_e3973f_idx"),
        ),
    ]
