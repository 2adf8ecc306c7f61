"""Training config: YAML, dotted overrides, validation, path resolution."""

from __future__ import annotations

import pytest

from voxguard.training.config import ConfigError, TrainConfig, dump_config, load_config


def test_defaults_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: aasist_l\noptim: {lr: 1.0e-4}\ndata: {train: t.jsonl}\n")
    cfg = load_config(
        path,
        [
            "optim.lr=3e-4",
            "class_weights=[0.1, 0.9]",
            "data.limit=null",
            "augment.rawboost=5",
            "model_overrides.dropout=0.2",
        ],
    )
    assert isinstance(cfg, TrainConfig)
    assert cfg.optim.lr == 3e-4 and cfg.class_weights == [0.1, 0.9] and cfg.data.limit is None
    assert cfg.augment.rawboost == 5 and cfg.model_overrides == {"dropout": 0.2}
    assert cfg.optim.name == "adam" and cfg.epochs == 10  # untouched defaults
    assert cfg.data.train == "t.jsonl"  # does not exist beside the config: kept as given


def test_relative_data_path_resolved_against_config(tmp_path):
    (tmp_path / "m.jsonl").write_text("")
    path = tmp_path / "c.yaml"
    path.write_text("data: {train: m.jsonl}\n")
    assert load_config(path).data.train == str((tmp_path / "m.jsonl").resolve())


@pytest.mark.parametrize(
    "text, overrides, match",
    [
        ("modle: x\n", [], "unknown key.*modle"),
        ("optim: {learning_rate: 1}\n", [], r"c.yaml: optim: unknown key"),
        ("", ["optim.lr"], "key.sub=value"),
        ("", ["sampler=weird"], "sampler must be"),
        ("", ["augment.rawboost=9"], "rawboost must be 0..8"),
        ("", ["optim.lr=fast"], "expected a float"),
        ("- a\n- b\n", [], "top level must be a mapping"),
        ("optim: 3\n", [], "must be a mapping"),
    ],
)
def test_errors(tmp_path, text, overrides, match):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(path, overrides)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")


def test_dump_roundtrip(tmp_path):
    cfg = load_config(None, ["epochs=3", "optim.name=adamw", "freeze=[frontend.]"])
    back = load_config(dump_config(cfg, tmp_path / "out.yaml"))
    assert back == cfg
