"""Readers of the corpora's real protocol files; each returns :class:`~voxguard.data.manifest.Utterance` records.

- :mod:`~voxguard.data.protocols.asvspoof2019` — 2019 LA ``SPEAKER UTT - SYSTEM KEY``
- :mod:`~voxguard.data.protocols.asvspoof2021` — 2021 LA/DF ``keys/CM/trial_metadata.txt``
- :mod:`~voxguard.data.protocols.asvspoof5` — ASVspoof 5, 10 columns
- :mod:`~voxguard.data.protocols.in_the_wild` — ``meta.csv``
- :mod:`~voxguard.data.protocols.voxceleb` — VoxCeleb1 audio tree and trial lists
"""
