"""The demo study: iStress with two arms across five primary care centres, recruiting."""

import io

from django.core.management import call_command

from ikbt.research import demo
from ikbt.research.demo import demo_study
from ikbt.research.models import Allocation, Participant, ResearchConsent
from ikbt.treatment.models import Enrollment


def test_demo_study_is_set_up_recruits_and_randomises(db):
    call_command("demo", stdout=io.StringIO())
    study = demo_study()
    assert study.title == "iStress-studien"
    assert study.status == "recruiting"
    assert study.units.count() == 5
    assert sorted(study.arms.values_list("name", "program__slug")) == [
        ("Internet-KBT", "utmattning"),
        ("Väntelista", None),
    ]
    participants = Participant.objects.filter(study=study)
    assert participants.count() == 6
    assert ResearchConsent.objects.filter(participant__study=study).count() == 5
    allocations = Allocation.objects.filter(participant__study=study).select_related("arm")
    assert allocations.count() == 5
    treated = [a.participant.patient_id for a in allocations if not a.arm.is_waiting_list]
    assert Enrollment.objects.filter(
        patient_id__in=treated, program_version__program__slug="utmattning"
    ).count() == len(treated)
    assert demo_study() == study  # running the demo again changes nothing


def test_demo_texts_break_only_between_paragraphs():
    """Pages show a text's line breaks (staff paste real text), so a paragraph is one line:
    wrapped in the source, it would break mid-sentence on a phone."""
    texts = [
        value for name, value in vars(demo).items() if name.isupper() and isinstance(value, str)
    ]
    assert demo.INFORMATION in texts
    for text in texts:
        for paragraph in text.split("\n\n"):
            assert "\n" not in paragraph.strip("\n"), paragraph
