"""Every value of ../shared/reference/metrics_reference.json, reproduced to 1e-9 relative."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxguard import metrics as M

CASES = ["separable", "tied", "small_overlap", "miscalibrated"]
REL = 1e-9


@pytest.fixture(scope="module")
def ref(shared_dir):
    with open(shared_dir / "reference" / "metrics_reference.json") as fh:
        return json.load(fh)


@pytest.mark.parametrize("case", CASES)
def test_cm_reference(ref, case):
    c = ref["cm"][case]
    bona, spoof = np.array(c["bona"]), np.array(c["spoof"])
    e, thr = M.eer(bona, spoof)
    assert e == pytest.approx(c["eer"], rel=REL)
    assert thr == pytest.approx(c["eer_threshold"], rel=REL, abs=1e-12)
    assert M.min_dcf(bona, spoof)[0] == pytest.approx(c["min_dcf"], rel=REL)
    a, a_thr = M.act_dcf(bona, spoof)
    assert a == pytest.approx(c["act_dcf"], rel=REL)
    assert a_thr == pytest.approx(c["act_dcf_threshold"], rel=REL)
    assert M.cllr(bona, spoof) == pytest.approx(c["cllr"], rel=REL)
    tdcf = M.min_tdcf_revised(bona, spoof, M.ASVSPOOF5_ASV_RATES)[0]
    assert tdcf == pytest.approx(c["min_tdcf_revised_asvspoof5_asv"], rel=REL)


def test_asv_rates_reference(ref):
    t = ref["tandem"]
    e, thr = M.eer(t["asv_target"], t["asv_nontarget"])
    assert e == pytest.approx(t["asv_eer"], rel=REL)
    assert thr == pytest.approx(t["asv_eer_threshold"], rel=REL)
    r = M.asv_error_rates(t["asv_target"], t["asv_nontarget"], t["asv_spoof"])
    assert r.pfa == pytest.approx(t["Pfa_asv"], rel=REL)
    assert r.pmiss == pytest.approx(t["Pmiss_asv"], rel=REL)
    assert r.pfa_spoof == pytest.approx(t["Pfa_spoof_asv"], rel=REL)
    assert 1.0 - r.pfa_spoof == pytest.approx(t["Pmiss_spoof_asv"], rel=REL)


def test_tdcf_reference_with_own_asv(ref):
    t = ref["tandem"]
    r = M.asv_error_rates(t["asv_target"], t["asv_nontarget"], t["asv_spoof"])
    legacy = M.min_tdcf_legacy(t["cm_bona"], t["cm_spoof"], r)[0]
    assert legacy == pytest.approx(t["min_tdcf_legacy_2019"], rel=REL)
    revised = M.min_tdcf_revised(t["cm_bona"], t["cm_spoof"], r)[0]
    assert revised == pytest.approx(t["min_tdcf_revised"], rel=REL)


def test_adcf_reference(ref):
    t = ref["tandem"]
    groups = t["sasv_target"], t["sasv_nontarget"], t["sasv_spoof"]
    a, thr = M.min_a_dcf(*groups)
    assert a == pytest.approx(t["min_a_dcf_default"], rel=REL)
    assert thr == pytest.approx(t["min_a_dcf_default_threshold"], rel=REL)
    a5 = M.min_a_dcf(*groups, cost=M.ADCF_ASVSPOOF5)[0]
    assert a5 == pytest.approx(t["min_a_dcf_asvspoof5_track2"], rel=REL)


def test_sasv_eers_reference(ref):
    t = ref["tandem"]
    got = M.sasv_eers(t["sasv_target"], t["sasv_nontarget"], t["sasv_spoof"])
    for key in ("sasv_eer", "sv_eer", "spf_eer"):
        assert got[key] == pytest.approx(t[key], rel=REL), key
