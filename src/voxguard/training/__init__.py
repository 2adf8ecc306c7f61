"""Training: ``config`` (YAML + dotted overrides), ``data`` (CM datasets), ``loop`` (CM training),
``checkpoint`` (run records, averaging, resume), ``ddp`` (torchrun), ``spk`` (speaker models),
``sam`` (sharpness-aware minimisation around any optimizer).

Entry points: :func:`voxguard.training.config.load_config` and :func:`voxguard.training.loop.train`.
"""
