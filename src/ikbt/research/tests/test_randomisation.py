"""Permuted blocks: balance within strata, varying block sizes, concealment, exactly one
allocation per participant even when two people press at once."""

import threading
from collections import Counter, defaultdict

import pytest
from django.db import connection

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.patients.models import CareRelationship
from ikbt.research import actions, randomisation
from ikbt.research.models import Allocation, AllocationSequence, AllocationSlot
from ikbt.research.tests.conftest import enrol, open_study, submit


def test_a_block_holds_each_arm_in_proportion():
    for _ in range(50):
        block = randomisation.make_block(6, [(1, 1), (2, 2)])
        assert Counter(block.arms) == {1: 2, 2: 4}


def test_block_sizes_must_be_multiples_of_the_ratio_sum():
    assert randomisation.block_sizes_problem([2, 4, 6], [1, 1]) is None
    assert randomisation.block_sizes_problem([3, 6], [1, 2]) is None
    assert randomisation.block_sizes_problem([2, 3], [1, 1]) == "3 is not a multiple of 2"


def test_opening_makes_complete_balanced_blocks_of_varying_size_per_stratum(
    researcher, units, program
):
    factors = [{"name": "sjukskriven", "choices": ["ja", "nej"]}]
    study = open_study(researcher, units, program, stratification_factors=factors, planned_size=60)
    sequences = list(AllocationSequence.objects.filter(study=study))
    assert len(sequences) == 10  # five units × two values of the factor
    arm_ids = set(study.arms.values_list("pk", flat=True))
    sizes = set()
    for sequence in sequences:
        blocks = defaultdict(list)
        for slot in sequence.slots.all():
            blocks[slot.block].append(slot)
            sizes.add(slot.block_size)
        assert sum(len(block) for block in blocks.values()) >= 60
        for block in blocks.values():
            counts = Counter(slot.arm_id for slot in block)
            assert set(counts) == arm_ids
            assert len(set(counts.values())) == 1  # equal within every block
            assert len(block) == block[0].block_size
    assert sizes == {2, 4, 6}


def test_allocations_are_balanced_after_complete_blocks(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program, planned_size=30)
    sequence = AllocationSequence.objects.get(study=study)
    slots = list(sequence.slots.order_by("position"))
    block_ends = {
        slot.position for index, slot in enumerate(slots)
        if index + 1 == len(slots) or slots[index + 1].block != slot.block
    }  # fmt: skip
    counts = Counter()
    for position in range(1, 25):
        participant = enrol(study, unit, therapist)
        allocation = actions.participant_randomise(participant, by=therapist)
        assert allocation.slot.position == position  # the next place, in order
        counts[allocation.arm.name] += 1
        if position in block_ends:
            assert counts["Internet-KBT"] == counts["Väntelista"]


def test_a_stratum_that_runs_out_gets_more_blocks_and_the_log_says_so(
    researcher, unit, therapist, program
):
    study = open_study(researcher, [unit], program, planned_size=2, block_sizes=[2])
    participants = [enrol(study, unit, therapist) for _ in range(3)]
    for participant in participants:
        actions.participant_randomise(participant, by=therapist)
    assert AllocationSlot.objects.filter(sequence__study=study).count() == 4
    assert AccessLogEntry.objects.filter(detail="allocation sequence extended by 2").count() == 1


def test_every_allocation_is_logged_with_time_and_actor(
    researcher, unit, therapist, patient, program
):
    study = open_study(researcher, [unit], program)
    submit(patient, "KEDS", 4)
    participant = enrol(study, unit, therapist, patient=patient)
    allocation = actions.participant_randomise(participant, by=therapist)
    assert allocation.allocated_by == therapist
    entry = AccessLogEntry.objects.get(object_type="research.Allocation")
    assert (entry.actor, entry.patient, entry.unit) == (therapist, patient, unit)
    assert entry.detail == f"randomised in study {study.code}"


def test_randomising_twice_is_refused(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist)
    actions.participant_randomise(participant, by=therapist)
    with pytest.raises(actions.ResearchError) as error:
        actions.participant_randomise(participant, by=therapist)
    assert str(error.value) == "The participant has already been randomised."
    assert Allocation.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_staff_pressing_randomise_at_once_make_one_allocation(
    researcher, unit, therapist, colleague, program
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist)
    factories.care_relationship(
        participant.patient, colleague, unit, role=CareRelationship.Role.ASSESSOR
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def press(user):
        try:
            barrier.wait()
            actions.participant_randomise(participant, by=user)
            outcomes.append("won")
        except actions.ResearchError:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(user,)) for user in (therapist, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert Allocation.objects.filter(participant=participant).count() == 1
    assert AllocationSlot.objects.filter(used_by=participant).count() == 1
