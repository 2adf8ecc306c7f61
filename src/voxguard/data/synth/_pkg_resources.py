"""A minimal ``pkg_resources`` for pyworld and pysptk on setuptools ≥ 81 (which removed it).

pyworld reads its own version with ``pkg_resources.get_distribution`` and pysptk its example
file with ``pkg_resources.resource_filename``; nothing else. Installing this stand-in (only when
the real module is absent) lets voxguard use them without pinning setuptools below 81, so no
extra downgrades a build tool.
"""

from __future__ import annotations

import sys
import types


def ensure_pkg_resources() -> None:
    """Make ``import pkg_resources`` work: the real one if importable, else the stand-in."""
    if sys.modules.get("pkg_resources") is not None:
        return
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pkg_resources  # noqa: F401
        return
    except ImportError:
        pass
    import importlib.metadata as md
    import importlib.resources as res

    mod = types.ModuleType("pkg_resources")

    class DistributionNotFound(Exception):
        pass

    def get_distribution(name: str) -> types.SimpleNamespace:
        try:
            return types.SimpleNamespace(version=md.version(name), project_name=name)
        except md.PackageNotFoundError:
            raise DistributionNotFound(name) from None

    def resource_filename(package: str, resource: str) -> str:
        return str(res.files(package.split(".")[0] if "." in package else package).joinpath(resource))

    mod.DistributionNotFound = DistributionNotFound
    mod.get_distribution = get_distribution
    mod.resource_filename = resource_filename
    sys.modules["pkg_resources"] = mod
