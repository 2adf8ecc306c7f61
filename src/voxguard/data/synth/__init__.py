"""Spoof generation: ``tts`` (espeak-ng, flite, festival, piper), ``vocoders`` (WORLD,
Griffin-Lim, MLSA), ``attacks`` (the voxguard-mini attack table) and ``build`` (the benchmark
builder behind ``voxguard data synth``). Codecs live in :mod:`voxguard.audio.augment`.
"""
