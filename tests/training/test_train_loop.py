"""End-to-end CM training of the tiny debug model: outputs, averaging, scores, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from voxguard.audio.crop import eval_crop
from voxguard.audio.io import load_audio
from voxguard.cli.main import main
from voxguard.data.manifest import read_manifest
from voxguard.data.scorefiles import read_cm_scores
from voxguard.models import load_pretrained
from voxguard.training.config import load_config
from voxguard.training.loop import train


def test_cli_train_writes_everything(tiny_config, tmp_path):
    rc = main(
        [
            "train",
            str(tiny_config),
            "--no-progress",
            "--set",
            "sampler=balanced",
            "--set",
            "augment.rawboost=3",
        ]
    )
    assert rc == 0
    run = tmp_path / "run"
    for name in (
        "config.yaml",
        "versions.json",
        "data_manifest.jsonl",
        "metrics.jsonl",
        "last.pt",
        "model/config.json",
        "model/model.safetensors",
        "scores_eval.tsv",
        "results.json",
    ):
        assert (run / name).is_file(), name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and all(0 <= r["dev_eer"] <= 1 for r in rows)
    assert {r.split for r in read_manifest(run / "data_manifest.jsonl")} == {"train", "dev", "eval"}
    assert load_config(run / "config.yaml").sampler == "balanced"

    # the exported model is the mean of the two epoch checkpoints
    ep = [load_file(str(run / "checkpoints" / f"epoch_00{i}.safetensors")) for i in (1, 2)]
    final = load_file(str(run / "model" / "model.safetensors"))
    for key in final:
        torch.testing.assert_close(final[key], (ep[0][key] + ep[1][key]) / 2)

    # the score file holds logit[1] - logit[0] of the exported model on the first-crop eval input
    scores = read_cm_scores(run / "scores_eval.tsv")
    model = load_pretrained(run / "model").eval()
    manifest = load_config(tiny_config).data.eval
    recs = [r for r in read_manifest(manifest) if r.split == "eval"]
    assert scores.ids == [r.utt for r in recs]
    wav, _ = load_audio(recs[0].resolve(Path(manifest).parent))
    with torch.no_grad():
        logits = model(torch.from_numpy(eval_crop(wav, 8000).copy())[None])
    assert np.isclose(scores.scores[0], (logits[0, 1] - logits[0, 0]).item(), atol=1e-5)


def test_resume_equals_unbroken_run(tiny_config, tmp_path):
    straight = train(
        load_config(tiny_config, [f"out_dir={tmp_path / 'a'}", "average_best=1"]), progress=False
    )
    train(
        load_config(tiny_config, [f"out_dir={tmp_path / 'b'}", "epochs=1", "average_best=1"]),
        progress=False,
    )
    resumed = train(
        load_config(tiny_config, [f"out_dir={tmp_path / 'b'}", "average_best=1"]), progress=False
    )
    assert [h["epoch"] for h in resumed.history] == [1, 2]
    assert resumed.history[1]["train_loss"] == straight.history[1]["train_loss"]
    a = load_file(str(tmp_path / "a" / "checkpoints" / "epoch_002.safetensors"))
    b = load_file(str(tmp_path / "b" / "checkpoints" / "epoch_002.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_learns_the_tiny_task(tiny_config, tmp_path):
    res = train(
        load_config(
            tiny_config, [f"out_dir={tmp_path / 'c'}", "epochs=6", "class_weights=[0.5, 0.5]"]
        ),
        progress=False,
    )
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_freeze_prefix_keeps_weights(tiny_config, tmp_path):
    cfg = load_config(
        tiny_config, [f"out_dir={tmp_path / 'd'}", "epochs=1", "freeze=[conv.]", "freeze_epochs=1"]
    )
    torch.manual_seed(cfg.seed)
    from voxguard.models import create_model

    init = create_model("debug_cm").state_dict()
    train(cfg, progress=False)
    after = load_file(str(tmp_path / "d" / "checkpoints" / "epoch_001.safetensors"))
    torch.testing.assert_close(after["conv.0.weight"], init["conv.0.weight"])
    assert not torch.equal(after["out.weight"], init["out.weight"])


def test_init_from_previous_run(tiny_config, tmp_path):
    first = train(
        load_config(tiny_config, [f"out_dir={tmp_path / 'e'}", "epochs=1"]), progress=False
    )
    cfg = load_config(
        tiny_config,
        [f"out_dir={tmp_path / 'f'}", "epochs=1", f"init_from={first.model_dir}", "optim.lr=1e-12"],
    )
    train(cfg, progress=False)
    a = load_file(str(first.model_dir / "model.safetensors"))
    b = load_file(str(tmp_path / "f" / "checkpoints" / "epoch_001.safetensors"))
    for key in a:  # a vanishing learning rate keeps the initial weights
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0)


def test_model_frozen_parameters_stay_frozen_after_the_freeze_schedule(tiny_config, tmp_path):
    """AttM's ``freeze: cnn`` keeps the SSL conv encoder frozen in every epoch (as the reference
    fine-tunes): the ``freeze`` prefixes of the first epochs must not re-enable it afterwards."""
    pytest.importorskip("transformers")
    from voxguard.models import create_model

    run = tmp_path / "g"
    cfg = load_config(
        tiny_config,
        [
            f"out_dir={run}",
            "model=debug_ssl_cm",
            "model_overrides={freeze: cnn}",
            "freeze=[frontend.]",
            "freeze_epochs=1",
            "epochs=2",
            "average_best=1",
        ],
    )
    torch.manual_seed(cfg.seed)
    init = create_model("debug_ssl_cm", freeze="cnn").state_dict()
    train(cfg, progress=False)
    after = load_file(str(run / "checkpoints" / "epoch_002.safetensors"))
    cnn = [k for k in init if k.startswith("frontend.upstream.feature_extractor.")]
    assert len(cnn) == 9
    for key in cnn:
        torch.testing.assert_close(after[key], init[key], atol=0, rtol=0)
    # epoch 2 fine-tunes the rest of the front-end (the transformer layers)
    key = "frontend.upstream.encoder.layers.0.attention.q_proj.weight"
    assert not torch.equal(after[key], init[key])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    n_frontend = sum(1 for k in init if k.startswith("frontend."))
    assert [r["frozen_params"] for r in rows] == [n_frontend, len(cnn)]
