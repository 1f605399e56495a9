import pytest

from ikbt.programs.actions import program_import, version_publish
from ikbt.programs.package import EXAMPLE_PACKAGE, read_package
from ikbt.treatment.models import Enrollment


@pytest.fixture
def enrollment(patient, unit) -> Enrollment:
    """The patient in treatment on the example program at the therapist's unit."""
    data, _ = read_package(EXAMPLE_PACKAGE)
    version = version_publish(program_import(data, unit.region), None)
    return Enrollment.objects.create(patient=patient, unit=unit, program_version=version)
