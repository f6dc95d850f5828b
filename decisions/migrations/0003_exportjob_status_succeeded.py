"""ExportJob's finished status is called "succeeded", as for every job (decisions.jobs)."""

from django.db import migrations


def done_to_succeeded(apps, schema_editor):
    ExportJob = apps.get_model("decisions", "ExportJob")
    ExportJob.objects.filter(status="done").update(status="succeeded")


def succeeded_to_done(apps, schema_editor):
    ExportJob = apps.get_model("decisions", "ExportJob")
    ExportJob.objects.filter(status="succeeded").update(status="done")
    ExportJob.objects.filter(status__in=["cancelled", "interrupted"]).update(status="failed")


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0002_exportjob_job_shape"),
    ]

    operations = [
        migrations.RunPython(done_to_succeeded, succeeded_to_done),
    ]
