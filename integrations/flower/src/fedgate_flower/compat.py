"""Which Flower releases this package can drive, and the refusal for the others.

Two bands, each a different SuperLink interface:

- LEGACY (1.22-1.23): Control API over gRPC with ControlAuth(n)Plugin / ControlAuthzPlugin
  loaded from `--user-auth-config` / `--account-auth-config` (superlink_adapter.py).
- FEDERATION (1.34 up to the newest examined release): OIDC authentication from
  `flwr.ee` when FLWR_OIDC_ENABLED=1, authorization through a FederationManager, the
  Control API over HTTP since 1.37 (ee.py, federation_manager.py).

1.24-1.33 are refused: their SuperLink still has ControlAuthzPlugin next to a
FederationManager and a SuperExec that imports more `flwr.ee` names; neither band's
adapter was verified against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Optional, Tuple

Version = Tuple[int, int]


@dataclass(frozen=True)
class Band:
    name: str
    low: Version  # inclusive
    high: Version  # inclusive: the newest release examined (a later one is refused until examined)
    pip: str  # what to install

    def __contains__(self, version: Version) -> bool:
        return self.low <= version <= self.high

    @property
    def label(self) -> str:
        return f"{self.low[0]}.{self.low[1]}-{self.high[0]}.{self.high[1]}"


LEGACY = Band("legacy", (1, 22), (1, 23), "flwr>=1.22.0,<1.24")
FEDERATION = Band("federation", (1, 34), (1, 42), "flwr>=1.34.0,<1.43")
BANDS = (FEDERATION, LEGACY)
NEWEST = "flwr>=1.34.0,<1.43"
# Keep in step with pyproject.toml's `flwr` dependency, infra/stack.env and the README table.
SUPPORTED_FLWR = f"{LEGACY.pip} or {FEDERATION.pip}"


class UnsupportedFlowerVersion(RuntimeError):
    pass


def installed_flwr_version() -> Optional[str]:
    try:
        return metadata.version("flwr")
    except metadata.PackageNotFoundError:
        return None


def parse(version: str) -> Version:
    major, minor = (int(part) for part in version.split(".")[:2])
    return major, minor


def band_of(version: str) -> Band:
    """The band of a supported version; UnsupportedFlowerVersion (with what to install) otherwise."""
    try:
        found = parse(version)
    except ValueError:
        raise UnsupportedFlowerVersion(f"cannot read the flwr version {version!r}; {_install_hint()}") from None
    for band in BANDS:
        if found in band:
            return band
    if found > FEDERATION.high:
        reason = f"it is newer than {FEDERATION.high[0]}.{FEDERATION.high[1]}, the newest release examined with this package"
    elif LEGACY.high < found < FEDERATION.low:
        reason = (
            "1.24-1.33 are not supported (their SuperLink mixes ControlAuthzPlugin with the "
            "FederationManager and was not verified with either adapter)"
        )
    else:
        reason = "older releases have no Control API account-auth plugin interface"
    raise UnsupportedFlowerVersion(f"flwr {version} is not supported by fedgate-flower: {reason}. {_install_hint()}")


def check_flwr_version(version: Optional[str] = None) -> str:
    """The installed flwr version when supported; UnsupportedFlowerVersion (with what to do) otherwise."""
    found = installed_flwr_version() if version is None else version
    if found is None:
        raise UnsupportedFlowerVersion(f"flwr is not installed; {_install_hint()}")
    band_of(found)
    return found


def _install_hint() -> str:
    return (
        f"Supported: flwr {FEDERATION.label} and {LEGACY.label}. "
        f"Install the newest supported release: pip install '{FEDERATION.pip}' "
        f"(or keep the older line: pip install '{LEGACY.pip}')"
    )
