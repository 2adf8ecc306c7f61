"""Training configuration: dataclasses loaded from YAML, with dotted ``--set key=value`` overrides.

A config file mirrors :class:`TrainConfig`::

    model: aasist_l
    data: {train: data/voxguard-mini, format: asvspoof2019}
    optim: {name: adam, lr: 1.0e-4}
    epochs: 10

``--set optim.lr=3e-4 --set data.limit=64`` changes single fields; values are parsed as YAML
(``true``, ``[0.1, 0.9]``, ``null``). Unknown keys are errors, never silently ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from voxguard.errors import VoxguardError


class ConfigError(VoxguardError, ValueError):
    """A training config file or override is invalid."""


@dataclass
class DataConfig:
    """Where the data is and how it is cut.

    ``train`` / ``dev`` / ``eval`` are each a JSONL manifest (records filtered by their ``split``
    field when they have one) or an ASVspoof 2019 LA-layout root (a folder; ``format: auto``
    tells them apart per split).
    A relative path is resolved against the config file's folder, then the working directory.
    """

    train: str = ""
    dev: str | None = None
    eval: str | None = None
    format: str = "auto"  # auto (folder = asvspoof2019, file = manifest) | manifest | asvspoof2019
    crop: int = 64600
    sample_rate: int = 16000
    limit: int | None = None  # at most this many utterances per split (smoke runs)


@dataclass
class AugmentConfig:
    """On-the-fly augmentation of training crops."""

    rawboost: int = 0  # RawBoost algo 0 (off) .. 8
    codec_prob: float = 0.0
    codecs: list[str] = field(default_factory=lambda: ["mp3", "opus", "ulaw8k"])


@dataclass
class OptimConfig:
    """Optimiser and schedule."""

    name: str = "adam"  # adam | adamw
    lr: float = 1e-4
    weight_decay: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    scheduler: str = "none"  # none | cosine
    min_lr: float = 5e-6
    grad_clip: float | None = None


@dataclass
class TrainConfig:
    """One CM training run (the resolved form is saved next to every checkpoint)."""

    model: str = "aasist_l"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = (
        None  # weights to start from: a run's model/ folder or a .safetensors file
    )
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    epochs: int = 10
    batch_size: int = 32
    eval_batch_size: int = 32
    max_steps_per_epoch: int | None = None
    class_weights: list[float] | None = None  # [spoof, bona fide], e.g. [0.1, 0.9]
    sampler: str = "random"  # random | balanced
    freeze: list[str] = field(default_factory=list)  # parameter-name prefixes frozen ...
    freeze_epochs: int = 0  # ... for this many first epochs
    amp: bool = True  # used only on CUDA
    average_best: int = 1  # average the N best checkpoints (by dev EER, else dev loss)
    keep_checkpoints: int = 5
    num_workers: int = 0
    seed: int = 0
    device: str = "auto"
    out_dir: str = "runs/train"
    resume: bool = True
    score_format: str = "asvspoof5"

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (what is written to ``config.yaml``)."""
        return dataclasses.asdict(self)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(names)}")
    kwargs = {}
    for key, value in data.items():
        sub = hints[key]
        if dataclasses.is_dataclass(sub):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key!r} must be a mapping, got {value!r}")
            value = _build(sub, value, f"{where}: {key}")
        else:
            value = _coerce(sub, value, f"{where}: {key}")
        kwargs[key] = value
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    """Turn YAML scalars into the field's type (``3e-4`` is a string in YAML 1.1, ``1`` an int)."""
    types = set(get_args(hint)) if get_origin(hint) in (Union, UnionType) else {hint}
    if value is None or type(value) in types or not (types & {float, int}):
        return value
    target = float if float in types else int
    try:
        if isinstance(value, bool) or (
            target is int and isinstance(value, float) and not value.is_integer()
        ):
            raise ValueError
        return target(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a {target.__name__}, got {value!r}") from None


def apply_override(tree: dict[str, Any], item: str) -> None:
    """Set ``a.b.c=value`` in a nested dict; ``value`` is parsed as YAML."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r} must look like key.sub=value")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {item!r}: value is not valid YAML ({exc})") from None
    node = tree
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {part!r} is not a section")
    node[parts[-1]] = value


def load_config(
    path: str | PathLike | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """Read a YAML config (or start from defaults), apply overrides, validate.

    Relative data paths are made absolute against the config file's folder when they exist
    there (so recipes are runnable from anywhere), else kept relative to the working directory.

    Raises:
        ConfigError: unreadable YAML, an unknown key, or an invalid value.
    """
    tree: dict[str, Any] = {}
    base = None
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys")
        base = path.parent
    for item in overrides:
        apply_override(tree, item)
    try:
        cfg = _build(TrainConfig, tree, str(path or "config"))
    except TypeError as exc:
        raise ConfigError(f"{path or 'config'}: {exc}") from None
    _resolve_paths(cfg, base)
    validate(cfg)
    return cfg


def _resolve_paths(cfg: TrainConfig, base: Path | None) -> None:
    if base is None:
        return
    for obj, name in (
        (cfg.data, "train"),
        (cfg.data, "dev"),
        (cfg.data, "eval"),
        (cfg, "init_from"),
    ):
        value = getattr(obj, name)
        if value and not Path(value).is_absolute() and (base / value).exists():
            setattr(obj, name, str((base / value).resolve()))


def validate(cfg: TrainConfig) -> None:
    """Check value ranges and choices; raise :class:`ConfigError` naming the field."""
    checks = [
        (
            cfg.data.format in ("auto", "manifest", "asvspoof2019"),
            "data.format must be auto, manifest or asvspoof2019",
        ),
        (cfg.sampler in ("random", "balanced"), "sampler must be random or balanced"),
        (cfg.optim.name in ("adam", "adamw"), "optim.name must be adam or adamw"),
        (cfg.optim.scheduler in ("none", "cosine"), "optim.scheduler must be none or cosine"),
        (0 <= cfg.augment.rawboost <= 8, "augment.rawboost must be 0..8"),
        (
            cfg.class_weights is None or len(cfg.class_weights) == 2,
            "class_weights must be [spoof, bonafide]",
        ),
        (cfg.epochs >= 1 and cfg.batch_size >= 1, "epochs and batch_size must be >= 1"),
        (cfg.average_best >= 1, "average_best must be >= 1"),
        (cfg.optim.lr > 0, "optim.lr must be > 0"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ConfigError(f"invalid config: {msg}")


def dump_config(cfg: TrainConfig, path: str | PathLike) -> Path:
    """Write the resolved config as YAML."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
    return path
