"""40 bit-flipped copies of the demo model through ``bnnkit evaluate``: with bnnkit's embedded
digest none runs silently and none crashes. The table in docs/reliability.md is rendered from
results/bitflips.json (written by ``python -m bnnkit.bench.bitflips``;
tests/bnnkit/bench/test_docfigures.py keeps them in step)."""

from __future__ import annotations

import json

import pytest

from bnnkit.bench import bitflips

COMMITTED = json.loads(bitflips.RESULT.read_text())


def test_the_committed_measurement_meets_the_goal():
    """With the digest: every copy refused with one line, none silent, none crashed."""
    row = COMMITTED["rows"]["with digest"]["counts"]
    assert COMMITTED["copies"] == bitflips.COPIES and COMMITTED["flips_per_copy"] == bitflips.FLIPS
    assert sum(row.values()) == bitflips.COPIES
    assert row["ran silently"] == row["crashed"] == row["unhandled error"] == 0


@pytest.mark.parametrize("record,outcome", [
    ({"exit": 0, "stderr": ""}, "ran silently"),
    ({"exit": "crashed"}, "crashed"),
    ({"exit": 5, "stderr": "bnnkit: error: m does not match the digest bnnkit embedded in it"},
     "refused: embedded digest"),
    ({"exit": 5, "stderr": "bnnkit: error: m carries a damaged bnnkit digest entry"},
     "refused: embedded digest"),
    ({"exit": 5, "stderr": "bnnkit: error: /x/digest/m failed a trial run: boom"},
     "refused: trial run"),
    ({"exit": 5, "stderr": "bnnkit: error: m is not a valid TFLite model: x"},
     "refused: structure"),
    ({"exit": 6, "stderr": "bnnkit: error: the model's input/output are INT8/FLOAT32"},
     "refused: other check"),
    ({"exit": "unhandled KeyError", "stderr": "Traceback ..."}, "unhandled error"),
])
def test_outcomes_are_classified_from_the_exit_code_and_the_one_line(record, outcome):
    assert bitflips.classify(record) == outcome


def test_flips_are_distinct_bits_anywhere_in_the_file():
    data = bytes(1000)
    flipped = bitflips.flip_bits(data, seed=3, count=8)
    assert sum(bin(byte).count("1") for byte in flipped) == 8
    assert bitflips.flip_bits(data, 3, 8) == flipped


@pytest.mark.ci
def test_a_new_measurement_gives_the_committed_table():
    """Measures again (about a minute): the same outcome for every copy."""
    fresh = bitflips.measure()
    for name, row in COMMITTED["rows"].items():
        assert fresh["rows"][name]["outcomes"] == row["outcomes"], name
