import pytest
from django.db import DatabaseError, connection, transaction

from ikbt.audit.actions import Action, log_access
from ikbt.audit.models import AccessLogEntry, AppendOnlyError


@pytest.fixture
def entry(therapist, patient, unit) -> AccessLogEntry:
    return log_access(therapist, Action.READ, patient=patient, unit=unit, obj=patient)


def test_log_access_writes_who_what_where_and_when(entry, therapist, patient, unit):
    row = AccessLogEntry.objects.get()
    assert (row.actor, row.patient, row.unit, row.action) == (therapist, patient, unit, "read")
    assert row.actor_name == "Tove Terapeut"
    assert row.actor_role == "Therapist"
    assert (row.object_type, row.object_id) == ("patients.Patient", str(patient.pk))
    assert row.at is not None


def test_the_application_never_updates_or_deletes_a_row(entry):
    entry.detail = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AccessLogEntry.objects.update(detail="changed")
    with pytest.raises(AppendOnlyError):
        AccessLogEntry.objects.all().delete()
    assert AccessLogEntry.objects.get().detail == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_accesslogentry SET detail = 'changed'",
        "DELETE FROM audit_accesslogentry",
    ],
)
def test_postgresql_refuses_update_and_delete(entry, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AccessLogEntry.objects.get().detail == ""
