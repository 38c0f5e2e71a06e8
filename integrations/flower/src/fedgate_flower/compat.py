"""Which Flower releases this package can drive, and the refusal for the others."""

from __future__ import annotations

from importlib import metadata
from typing import Optional, Tuple

# Keep in step with pyproject.toml's `flwr` dependency and the README.
SUPPORTED_FLWR = ">=1.22.0,<1.24"
_MIN: Tuple[int, int] = (1, 22)
_MAX_EXCLUSIVE: Tuple[int, int] = (1, 24)


class UnsupportedFlowerVersion(RuntimeError):
    pass


def installed_flwr_version() -> Optional[str]:
    try:
        return metadata.version("flwr")
    except metadata.PackageNotFoundError:
        return None


def check_flwr_version(version: Optional[str] = None) -> str:
    """The installed flwr version when supported; UnsupportedFlowerVersion (with what to do) otherwise."""
    found = installed_flwr_version() if version is None else version
    if found is None:
        raise UnsupportedFlowerVersion(f"flwr is not installed; install flwr{SUPPORTED_FLWR} (pip install 'flwr{SUPPORTED_FLWR}')")
    try:
        major, minor = (int(part) for part in found.split(".")[:2])
    except ValueError:
        raise UnsupportedFlowerVersion(f"cannot read the flwr version {found!r}; fedgate-flower supports flwr{SUPPORTED_FLWR}") from None
    if not _MIN <= (major, minor) < _MAX_EXCLUSIVE:
        reason = (
            "releases after 1.23 are not verified with this package (by 1.42 the SuperLink loads OIDC "
            "authentication from the environment and has no authorization plugin any more)"
            if (major, minor) >= _MAX_EXCLUSIVE
            else "older releases have no Control API auth plugin interface"
        )
        raise UnsupportedFlowerVersion(
            f"flwr {found} is not supported by fedgate-flower (supported: flwr{SUPPORTED_FLWR}): {reason}. "
            f"Install a supported release: pip install 'flwr{SUPPORTED_FLWR}'"
        )
    return found
