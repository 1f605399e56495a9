"""Permuted blocks of randomly varying size, one concealed sequence per stratum.

Each block holds every arm ``ratio × (size / sum of ratios)`` times in random order, so after
every complete block the arms are in exact proportion within the stratum, while the varying
block size keeps the end of a block from being guessed (Schulz & Grimes, Lancet 2002;359:
515-19). Randomness comes from the operating system (``secrets.SystemRandom``), never from a
seeded generator.
"""

import itertools
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

_random = secrets.SystemRandom()


@dataclass(frozen=True)
class Block:
    size: int
    arms: list[int]  # arm ids in allocation order


def block_sizes_problem(block_sizes: Sequence[int], ratios: Sequence[int]) -> str | None:
    """Why the sizes cannot make balanced blocks for arms of ``ratios``, or None."""
    total = sum(ratios)
    if not block_sizes:
        return "no block sizes"
    for size in block_sizes:
        if not isinstance(size, int) or size <= 0 or size % total:
            return f"{size} is not a multiple of {total}"
    return None


def make_block(size: int, arms: Sequence[tuple[int, int]]) -> Block:
    """One permuted block of ``size`` for ``arms`` as (arm id, ratio) pairs."""
    per_unit = size // sum(ratio for _arm, ratio in arms)
    order = [arm for arm, ratio in arms for _ in range(ratio * per_unit)]
    _random.shuffle(order)
    return Block(size, order)


def make_blocks(
    needed: int, block_sizes: Sequence[int], arms: Sequence[tuple[int, int]]
) -> list[Block]:
    """Complete blocks of randomly chosen sizes until at least ``needed`` places exist."""
    blocks: list[Block] = []
    while sum(block.size for block in blocks) < max(needed, 1):
        blocks.append(make_block(_random.choice(list(block_sizes)), arms))
    return blocks


def strata_combinations(factors: list[dict]) -> list[dict[str, str]]:
    """Every combination of the named factors' values ([{}] when there are none)."""
    names = [factor["name"] for factor in factors]
    values = [factor["choices"] for factor in factors]
    return [
        dict(zip(names, combination, strict=True)) for combination in itertools.product(*values)
    ]


def stratum_key(unit_id: int, strata: dict[str, str]) -> str:
    return f"unit={unit_id};" + json.dumps(strata, sort_keys=True, ensure_ascii=False)
