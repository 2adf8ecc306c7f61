"""``recipes/cm/cohort_dev_signal.py``: per-set rejections, EER and the D49-CM rule."""

from __future__ import annotations

import numpy as np
import pytest


def _rows():
    rows = [{"set": "cohort-dev", "label": "bonafide"}] * 4 + [
        {"set": "cohort-dev", "label": "spoof"}
    ] * 4
    rows += [{"set": "engine-dev librispeech-mini", "label": "bonafide"}] * 2
    rows += [{"set": "engine-dev librispeech-mini", "label": "spoof"}] * 2
    return rows


def test_rejections_count_only_gate_passed_files_and_eer_is_per_set(import_recipe):
    cds = import_recipe("cm", "cohort_dev_signal")
    # cohort-dev: bona fide 2, 1, -1 (spoof) and a no-speech file; spoofs -2, -3, 0.5, -4:
    # at threshold 0 one of three judged bona fide files is rejected; one spoof (0.5) outscores
    # one bona fide (-1) of four: EER 1/4 (one miss of 4 bona fide, one false accept of 4 spoofs)
    llr = np.array([2, 1, -1, 3, -2, -3, 0.5, -4, 1, 2, -1, -2], float)
    decision = [
        "bonafide",
        "bonafide",
        "spoof",
        "no_speech",
        "spoof",
        "spoof",
        "bonafide",
        "spoof",
        "bonafide",
        "bonafide",
        "spoof",
        "spoof",
    ]
    sets = cds.summarise(_rows(), llr, decision)
    c = sets["cohort-dev"]
    assert (c["n_bonafide"], c["bonafide_judged"], c["bonafide_called_spoof"]) == (4, 3, 1)
    assert c["bonafide_called_spoof_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert c["eer"] == pytest.approx(0.25)
    e = sets["engine-dev librispeech-mini"]
    assert e["bonafide_called_spoof"] == 0 and e["eer"] == 0.0


def test_the_rule_needs_five_percent_and_three_times_the_engine_dev_rate(import_recipe):
    cds = import_recipe("cm", "cohort_dev_signal")

    def sets(cohort, engine):
        return {
            "cohort-dev": {"bonafide_called_spoof_rate": cohort},
            "engine-dev librispeech-mini": {"bonafide_called_spoof_rate": engine},
        }

    assert cds.signal(sets(0.06, 0.0)) and cds.signal(sets(0.09, 0.03))
    assert not cds.signal(sets(0.04, 0.0)) and not cds.signal(sets(0.08, 0.03))
