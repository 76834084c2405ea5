"""Every bad input of the reliability catalogue gets a clear error (or a correct result)."""

import pytest

from .case import classify
from .catalogue import CASES


def test_the_catalogue_is_large_and_covers_every_defect_class():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 60
    assert {c.defect for c in CASES} >= set(range(1, 9))
    areas = {c.id.split("/")[0] for c in CASES}
    assert areas >= {"nets", "mgd", "reservoir", "hardware", "systems", "datasets", "store", "config"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_a_clear_answer(case):
    outcome, detail = classify(case)
    assert outcome == "clear", f"{case.id}: {outcome}: {detail}"
