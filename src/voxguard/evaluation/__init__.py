"""Evaluation on top of :mod:`voxguard.metrics`: whole-file CM / SASV / SV evaluation, per-attack
breakdowns, DET and histogram plots, and the composite selection score."""

from voxguard.evaluation.breakdown import breakdown, format_table
from voxguard.evaluation.cm import cm_metrics, evaluate_cm_files, join_cm
from voxguard.evaluation.sasv import evaluate_sasv_file, sasv_metrics
from voxguard.evaluation.selection import SelectionResult, select, select_csv
from voxguard.evaluation.sv import evaluate_sv_files

__all__ = [
    "SelectionResult",
    "breakdown",
    "cm_metrics",
    "evaluate_cm_files",
    "evaluate_sasv_file",
    "evaluate_sv_files",
    "format_table",
    "join_cm",
    "sasv_metrics",
    "select",
    "select_csv",
]
