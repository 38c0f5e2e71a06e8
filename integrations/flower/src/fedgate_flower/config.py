"""Where Fedgate is and how the SuperLink authenticates to it.

The settings live in the SuperLink's user-auth YAML (the file Flower passes to its auth
plugins), in the same shape as Flower's own plugin configuration:

    authentication:
      auth_type: fedgate
      login_url: https://login.example:17001
      token_url: https://token.example:17002
      ca_cert: /etc/fedgate/ca.pem          # optional: else the system trust store
    authorization:
      authz_type: fedgate
      authz_url: https://authz.example:17003
      service_name: superlink               # the `service:<name>` object
    fedgate:
      api_key_file: /run/secrets/fedgate-key   # this SuperLink's own key, mode 0600
      timeout_seconds: 5

The SuperLink's key (role `superlink`, for its service only) is read from a file that only
its owner may read (mode 0600; a group- or world-readable one is refused). It is never taken
from, or put into, an environment variable: flwr passes its environment to the ServerApp, the
user's own code.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

import yaml

PLUGIN_TYPE = "fedgate"
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class SettingsError(ValueError):
    """Unusable configuration; the message names the setting, never a secret value."""


@dataclass(frozen=True)
class FedgateSettings:
    """Fedgate's service URLs, the trust anchor and the SuperLink's credential."""

    login_url: str
    token_url: str
    authz_url: str
    api_key: str
    service_name: str
    ca_cert: Optional[str] = None
    timeout_seconds: float = 5.0
    # flwr 1.34+: the federation ids this SuperLink serves (empty: Flower's default `@none/default`)
    federations: tuple[str, ...] = ()
    # where the key was read from (written into the plugins' YAML instead of the key itself)
    api_key_file: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ("login_url", "token_url", "authz_url"):
            url = getattr(self, name)
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                raise SettingsError(f"{name} must be an https:// URL (Fedgate is only reachable over TLS), got {url!r}")
        if not self.api_key:
            raise SettingsError("the Fedgate API key is missing (fedgate.api_key_file or --api-key-file)")
        if not _SERVICE_NAME.match(self.service_name):
            raise SettingsError("service_name must match [A-Za-z0-9._-]{1,128}")
        if self.ca_cert is not None and not Path(self.ca_cert).is_file():
            raise SettingsError(f"ca_cert {self.ca_cert!r} is not a readable file")
        if not 0 < self.timeout_seconds <= 60:
            raise SettingsError("timeout_seconds must be in (0, 60]")

    @property
    def service_object(self) -> str:
        return f"service:{self.service_name}"

    @classmethod
    def from_yaml(cls, path: Path, env: Optional[Mapping[str, str]] = None) -> "FedgateSettings":
        """Settings from the SuperLink's user-auth YAML (shape in the module docstring)."""
        env = os.environ if env is None else env
        try:
            with Path(path).open(encoding="utf-8") as file:
                document = yaml.safe_load(file) or {}
        except (OSError, yaml.YAMLError) as err:
            raise SettingsError(f"cannot read the user-auth config {path}: {err.__class__.__name__}") from err
        if not isinstance(document, dict):
            raise SettingsError(f"{path}: expected a mapping at the top level")
        authn = _section(document, "authentication")
        authz = _section(document, "authorization")
        extra = _section(document, "fedgate", required=False)
        # `auth_type` (flwr 1.22) or `authn_type` (1.23, which still accepts the former)
        authn_type = authn.get("authn_type", authn.get("auth_type"))
        if authn_type != PLUGIN_TYPE or authz.get("authz_type") != PLUGIN_TYPE:
            raise SettingsError(f"{path}: authentication.auth_type (or authn_type) and authorization.authz_type must be {PLUGIN_TYPE!r}")
        key_file = extra.get("api_key_file") or env.get("FEDGATE_API_KEY_FILE")
        api_key = read_key_file(str(key_file)) if key_file else ""
        return cls(
            login_url=_text(authn, "login_url"),
            token_url=_text(authn, "token_url"),
            authz_url=_text(authz, "authz_url"),
            api_key=api_key,
            service_name=_text(authz, "service_name"),
            ca_cert=_optional_text(authn, "ca_cert"),
            timeout_seconds=float(extra.get("timeout_seconds", 5.0)),
            api_key_file=str(key_file) if key_file else None,
        )

    @classmethod
    def from_stack_file(cls, path: Path, api_key_file: Optional[str] = None) -> "FedgateSettings":
        """Settings from the local stack's `.fedgate/stack.json` (development): its URLs, and the
        key from `api_key_file` (else the stack file's own api_key, for a quick local start)."""
        try:
            stack = json.loads(Path(path).read_text(encoding="utf-8"))
            services = stack["services"]
            return cls(
                login_url=services["login"],
                token_url=services["token"],
                authz_url=services["authz"],
                api_key=read_key_file(api_key_file) if api_key_file else stack["api_key"],
                service_name=stack["service_name"],
                ca_cert=stack.get("ca_cert"),
                api_key_file=api_key_file,
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            if isinstance(err, SettingsError):
                raise
            raise SettingsError(f"cannot read the stack file {path}: {err.__class__.__name__} {err}") from err

    def to_user_auth_yaml(self) -> str:
        """The SuperLink's user-auth YAML for these settings: the key file's path, never the key."""
        fedgate: dict[str, Any] = {"timeout_seconds": self.timeout_seconds}
        if self.api_key_file is not None:
            fedgate["api_key_file"] = self.api_key_file
        document: dict[str, Any] = {
            "authentication": {"auth_type": PLUGIN_TYPE, "login_url": self.login_url, "token_url": self.token_url},
            "authorization": {"authz_type": PLUGIN_TYPE, "authz_url": self.authz_url, "service_name": self.service_name},
            "fedgate": fedgate,
        }
        if self.ca_cert is not None:
            document["authentication"]["ca_cert"] = self.ca_cert
        return str(yaml.safe_dump(document, sort_keys=False))


def read_key_file(path: str) -> str:
    """The key in `path`, which only its owner may read: a group- or world-accessible key file
    is refused (the key would not be the SuperLink's alone)."""
    try:
        mode = os.stat(path).st_mode
        if mode & 0o077:
            raise SettingsError(f"api_key_file {path} is accessible to group or others (mode {oct(mode & 0o777)}): chmod 600 it")
        key = Path(path).read_text(encoding="utf-8").strip()
    except OSError as err:
        raise SettingsError(f"cannot read api_key_file {path}: {err.__class__.__name__}") from err
    if not key:
        raise SettingsError(f"api_key_file {path} is empty")
    return key


def _section(document: Mapping[str, Any], name: str, required: bool = True) -> Mapping[str, Any]:
    section = document.get(name)
    if section is None and not required:
        return {}
    if not isinstance(section, dict):
        raise SettingsError(f"the user-auth config needs a {name!r} mapping")
    return section


def _text(section: Mapping[str, Any], key: str) -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{key} is required")
    return value


def _optional_text(section: Mapping[str, Any], key: str) -> Optional[str]:
    value = section.get(key)
    return value if isinstance(value, str) and value else None
