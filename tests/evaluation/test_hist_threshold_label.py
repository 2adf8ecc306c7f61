"""The histogram's threshold line says which threshold it is, and its value."""

from __future__ import annotations

import pytest


def test_histogram_line_names_its_threshold(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes

    from voxguard.evaluation.plots import plot_histogram

    seen: list[str] = []
    original = Axes.axvline

    def record(self, x=0, **kw):  # noqa: ANN001, ANN202
        seen.append(kw.get("label"))
        return original(self, x, **kw)

    monkeypatch.setattr(Axes, "axvline", record)
    groups = {"bona fide": [1.0, 2.0, 0.5], "spoof": [-1.0, 0.2, -2.0]}
    plot_histogram(groups, tmp_path / "h.png", threshold=0.25, threshold_label="EER threshold")
    assert seen == ["EER threshold = 0.25"]
