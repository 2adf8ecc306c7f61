"""``complexity(model)``: params, MACs, per-component breakdown and optional CPU latency."""

from __future__ import annotations

from typing import Any

from torch import nn

from voxguard.profiling.inputs import describe_input, example_input, input_length, input_spec
from voxguard.profiling.latency import measure_latency
from voxguard.profiling.macs import MAC_COUNTER, count_macs
from voxguard.profiling.params import REST, component_params, components, count_params


def complexity(
    model: nn.Module,
    *,
    seconds: float | None = None,
    frames: int | None = None,
    latency: bool = False,
    threads: int | None = None,
    repeats: int = 10,
    warmup: int = 2,
) -> dict[str, Any]:
    """Complexity of one eval-mode forward pass of ``model`` on a batch of one.

    Args:
        model: a voxguard model (waveform or feature input, see
            :mod:`voxguard.profiling.inputs`); it is switched to eval mode.
        seconds: input duration (default: 64,600 samples for waveform models, 201 frames
            for feature models).
        frames: input length in frames, for feature-input models.
        latency: also measure CPU latency (median of ``repeats`` after ``warmup`` runs).
        threads: intra-op threads for the latency measurement.
        repeats: timed runs for the latency.
        warmup: untimed runs before timing.

    Returns:
        A JSON-ready dict with ``model``, ``params`` (as the model's paper counts them: without
        the task heads a model lists in ``head_children``, which go to ``params_excluded``),
        ``params_total`` (every parameter), ``params_trainable``, ``macs``,
        ``mac_counter``, ``input``, ``components`` (``{name: {"params", "macs"}}``),
        ``uncounted_ops`` and, when measured, ``latency_ms`` and ``latency``.
    """
    model.eval()
    spec = input_spec(model)
    length = input_length(spec, seconds=seconds, frames=frames)
    x = example_input(spec, length)
    macs = count_macs(model, x)
    comp_params = component_params(model)
    comp = {
        name: {"params": comp_params[name], "macs": macs.of(name)} for name in components(model)
    }
    rest_macs = macs.total - sum(c["macs"] for c in comp.values())
    if REST in comp_params or rest_macs:
        comp[REST] = {"params": comp_params.get(REST, 0), "macs": rest_macs}
    total_params = count_params(model)
    head = {n: comp_params[n] for n in getattr(model, "head_children", ()) if n in comp_params}
    out: dict[str, Any] = {
        "model": getattr(model, "model_name", type(model).__name__),
        "params": total_params - sum(head.values()),
        "params_total": total_params,
        "params_excluded": head,
        "params_trainable": count_params(model, trainable_only=True),
        "macs": macs.total,
        "mac_counter": MAC_COUNTER,
        "input": describe_input(spec, length),
        "components": comp,
        "uncounted_ops": macs.uncounted_ops,
    }
    if latency:
        stats = measure_latency(model, x, threads=threads, repeats=repeats, warmup=warmup)
        out["latency_ms"] = round(float(stats["median_ms"]), 3)
        out["latency"] = stats
    return out


def format_complexity(report: dict[str, Any]) -> str:
    """Human-readable table of a :func:`complexity` report."""
    inp = report["input"]
    if inp["kind"] == "waveform":
        shape = f"waveform, {inp['samples']:,} samples ({inp['seconds']:g} s at {inp['sample_rate']} Hz)"
    else:
        shape = f"features, {inp['frames']:,} frames x {inp['feature_dim']} ({inp['seconds']:g} s)"
    lines = [
        f"model     {report['model']}",
        f"input     {shape}, batch 1",
        f"params    {report['params']:,} ({report['params_trainable']:,} trainable)"
        + (
            f"; {report['params_total']:,} with the head(s) "
            + ", ".join(f"{k} {v:,}" for k, v in report["params_excluded"].items())
            if report.get("params_excluded")
            else ""
        ),
        f"MACs      {report['macs']:,} ({report['macs'] / 1e6:,.3f} M)",
        f"counter   {report['mac_counter']}",
        "",
        f"{'component':24s} {'params':>14s} {'MACs':>16s} {'MAC share':>9s}",
    ]
    total = max(report["macs"], 1)
    for name, c in report["components"].items():
        lines.append(
            f"{name:24s} {c['params']:>14,d} {c['macs']:>16,d} {100 * c['macs'] / total:>8.1f}%"
        )
    if report.get("uncounted_ops"):
        lines.append(f"not counted: {', '.join(report['uncounted_ops'])}")
    if "latency" in report:
        lat = report["latency"]
        lines.append(
            f"\nlatency   {lat['median_ms']:.2f} ms median of {lat['repeats']} "
            f"(min {lat['min_ms']:.2f}, max {lat['max_ms']:.2f}), {lat['threads']} thread(s), CPU"
        )
    return "\n".join(lines)
