import dataclasses
import json

import pytest
import torch

import voxguard as vg
from voxguard.errors import UnknownModelError, WeightsError


def test_unknown_model_suggests_listing():
    with pytest.raises(UnknownModelError, match="voxguard models"):
        vg.create_model("no_such_model")


def test_override_unknown_field_is_error():
    with pytest.raises(TypeError, match="no config field"):
        vg.create_model("debug_cm", nonsense=3)


def test_save_load_roundtrip_and_tamper(tmp_path):
    model = vg.create_model("debug_cm", channels=4).eval()
    vg.save_pretrained(model, tmp_path / "w", card={"training_data": "none"})
    loaded = vg.load_pretrained(tmp_path / "w")
    x = torch.randn(2, 8000)
    assert torch.equal(model(x), loaded(x))
    meta = json.loads((tmp_path / "w" / "config.json").read_text())
    assert meta["model"] == "debug_cm" and meta["config"]["channels"] == 4
    blob = bytearray((tmp_path / "w" / "model.safetensors").read_bytes())
    blob[-1] ^= 0xFF
    (tmp_path / "w" / "model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(WeightsError, match="sha256"):
        vg.load_pretrained(tmp_path / "w")


def test_one_config_attribute_per_module():
    """A model and its sub-modules name their frozen config ``.config``, never ``.cfg``."""
    for name in vg.list_models("debug_*"):
        model = vg.create_model(name)
        assert dataclasses.is_dataclass(model.config), name
        for path, module in model.named_modules():
            assert not hasattr(module, "cfg"), f"{name}: {path or 'model'} has .cfg"
