"""Re-hash bundled weights directories: write the card's ``files`` map (issue 16).

Usage: ``python scripts/seal_bundles.py [DIR ...]`` (default: every bundle under
``src/voxguard/pretrained``). A bundle whose ``model.safetensors`` no longer matches the sha256
already in its card is refused, so sealing never blesses modified weights.
"""

from __future__ import annotations

import sys
from pathlib import Path

from voxguard.integrity import sha256_of
from voxguard.models._hub import PRETRAINED_DIR, WEIGHTS_FILE, read_config, seal_bundle


def main(argv: list[str]) -> int:
    dirs = [Path(a) for a in argv] or sorted(p.parent for p in PRETRAINED_DIR.glob("*/config.json"))
    for directory in dirs:
        old = read_config(directory).get("card", {}).get("sha256")
        if old and sha256_of(directory / WEIGHTS_FILE) != old:
            print(f"{directory}: {WEIGHTS_FILE} differs from its card; not sealed", file=sys.stderr)
            return 1
        files = seal_bundle(directory)
        print(f"{directory.name}: " + ", ".join(f"{k} {v[:12]}" for k, v in files.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
