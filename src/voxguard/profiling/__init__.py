"""Complexity accounting: parameters, MACs (per component) and CPU latency.

>>> import voxguard
>>> from voxguard.profiling import complexity
>>> report = complexity(voxguard.create_model("debug_cm"), seconds=1.0)
>>> sorted(report)[:3]
['components', 'input', 'mac_counter']
"""

from __future__ import annotations

from voxguard.profiling.inputs import (
    InputSpec,
    InputSpecError,
    example_input,
    input_length,
    input_spec,
)
from voxguard.profiling.latency import measure_latency
from voxguard.profiling.macs import MAC_COUNTER, MacReport, count_macs, rnn_macs
from voxguard.profiling.params import component_params, components, count_params
from voxguard.profiling.report import complexity, format_complexity

__all__ = [
    "MAC_COUNTER",
    "InputSpec",
    "InputSpecError",
    "MacReport",
    "complexity",
    "component_params",
    "components",
    "count_macs",
    "count_params",
    "example_input",
    "format_complexity",
    "input_length",
    "input_spec",
    "measure_latency",
    "rnn_macs",
]
