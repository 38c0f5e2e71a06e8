"""`flwr.ee` for an open-source SuperLink of the FEDERATION band (flwr 1.34+), in this process only.

Flower 1.34+ takes its OIDC authentication plugin, its FederationManager and a few other
hooks from `flwr.ee` (Flower's enterprise package) and falls back to open-source
stand-ins when that import fails. install() places a module of that name in
sys.modules before flwr imports it. Nothing is written to site-packages.

Before that it refuses:
- when Flower's own enterprise package is installed (two authorities over one SuperLink);
- when the installed flwr imports a name from `flwr.ee` that this module does not
  provide (scanned from flwr's own source, ee_imports.py): a missing name would make
  Flower fall back silently, e.g. to NoOpFederationManager.has_member, false for everyone.
After flwr's modules are imported, verify_bound() proves the names they hold are ours.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from .ee_imports import EE, EeImport, module_name, scan_flwr_source

# Modules Flower imports from flwr.ee only as optional extensions: their absence is
# Flower's documented open-source behaviour, not a fallback of an authorization hook.
OPTIONAL_MODULES: Mapping[str, str] = {
    "flwr.ee.superlink.extensions": "SuperGrid extension hooks (middleware, run notifications): none",
    "flwr.ee.supercore.tracing": "tracing backend (only with FLWR_TRACING_ENABLED=1): none",
    "flwr.ee.state.alembic": "enterprise database migrations (Alembic autogenerate only): none",
}


class EeRefused(RuntimeError):
    """The launcher must not start: the message says why and what to do."""


def enterprise_installed(flwr_root: Path) -> Optional[str]:
    """Where Flower's own enterprise package is, if it is installed."""
    if EE in sys.modules and not getattr(sys.modules[EE], "__fedgate__", False):
        return str(getattr(sys.modules[EE], "__file__", EE))
    for candidate in (flwr_root / "ee", flwr_root / "ee.py"):
        if candidate.exists():
            return str(candidate)
    try:
        spec = importlib.util.find_spec(EE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and not getattr(spec.loader, "__fedgate__", False):
        return str(spec.origin or EE)
    return None


def flwr_root() -> Path:
    """The installed flwr package directory, found without importing flwr's SuperLink modules."""
    spec = importlib.util.find_spec("flwr")
    if spec is None or not spec.submodule_search_locations:
        raise EeRefused("flwr is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def build(provided: Mapping[str, Any], utils: Mapping[str, Any]) -> dict[str, ModuleType]:
    """The `flwr.ee` package and its `flwr.ee.utils` submodule, from these attributes."""
    package = ModuleType(EE, "Fedgate's flwr.ee for an open-source SuperLink (fedgate_flower.ee)")
    package.__path__ = []  # a package without a directory: submodules exist only if registered here
    package.__fedgate__ = True  # type: ignore[attr-defined]
    for name, value in provided.items():
        setattr(package, name, value)
    submodule = ModuleType(f"{EE}.utils")
    submodule.__fedgate__ = True  # type: ignore[attr-defined]
    for name, value in utils.items():
        setattr(submodule, name, value)
    package.utils = submodule  # type: ignore[attr-defined]
    return {EE: package, f"{EE}.utils": submodule}


def missing_names(imports: Iterable[EeImport], modules: Mapping[str, ModuleType]) -> list[EeImport]:
    """The imports these modules do not satisfy (optional extension modules excepted)."""
    gaps = []
    for item in imports:
        if _is_optional(item.module):
            continue
        module = modules.get(item.module)
        if module is None or (item.name is not None and not hasattr(module, item.name) and f"{item.module}.{item.name}" not in modules):
            gaps.append(item)
    return gaps


def _is_optional(module: str) -> bool:
    return any(module == optional or module.startswith(optional + ".") for optional in OPTIONAL_MODULES)


def install(modules: Mapping[str, ModuleType], root: Optional[Path] = None) -> list[EeImport]:
    """Refuse or place the modules in sys.modules; returns what flwr imports (all provided)."""
    root = flwr_root() if root is None else root
    found = enterprise_installed(root)
    if found is not None:
        raise EeRefused(
            f"Flower's enterprise package is installed ({found}). fedgate-superlink provides flwr.ee itself and will not "
            "run next to it: use a SuperLink without the enterprise package, or configure Flower Enterprise against "
            "Fedgate's OIDC endpoints instead (see the README)."
        )
    imports = scan_flwr_source(root)
    early = sorted({module_name(i.file) for i in imports if i.toplevel} & set(sys.modules))
    if early:
        raise EeRefused(f"flwr modules that import flwr.ee were imported before it was provided ({', '.join(early)})")
    gaps = missing_names(imports, modules)
    if gaps:
        listed = ", ".join(f"{g.qualified} ({g.file}:{g.line})" for g in gaps)
        raise EeRefused(f"the installed flwr imports names from flwr.ee that fedgate-flower does not provide: {listed}. Install a supported flwr release.")
    sys.modules.update(modules)
    return imports


def verify_bound(modules: Mapping[str, ModuleType], imports: Sequence[EeImport]) -> None:
    """Import the flwr modules that take names from flwr.ee at import time; each must hold ours."""
    for bound in sorted({module_name(i.file) for i in imports if i.module == EE and i.toplevel}):
        module = importlib.import_module(bound)
        for item in imports:
            if item.module != EE or item.name is None or not item.toplevel or module_name(item.file) != bound:
                continue
            if getattr(module, item.name, None) is not getattr(modules[EE], item.name):
                raise EeRefused(f"{bound}.{item.name} is not Fedgate's (Flower fell back to its open-source stand-in)")


# ---- the hooks --------------------------------------------------------------------------------


def hooks(authn_plugin: type, federation_manager: Callable[[], Any], resolve_account_ids: Callable[[Iterable[str]], dict[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The names flwr 1.34-1.42 import from flwr.ee, and what each does here."""

    def get_control_authn_ee_plugins() -> dict[str, type]:
        return {"oidc": authn_plugin}

    def get_ee_federation_manager() -> Any:
        return federation_manager()

    def get_ee_linkstate_db() -> str:
        # Flower's own default (flwr/superlink/main.py)
        from flwr.supercore.constant import FLWR_IN_MEMORY_DB_NAME  # pylint: disable=import-outside-toplevel

        return os.getenv("FLWR_DATABASE", FLWR_IN_MEMORY_DB_NAME)

    def get_ee_objectstore_factory(database: str) -> Any:
        raise NotImplementedError("fedgate-flower: only Flower's SQLite and in-memory databases are supported")

    def get_ee_linkstate_factory(database: str, federation_manager: Any, objectstore_factory: Any) -> Any:
        raise NotImplementedError("fedgate-flower: only Flower's SQLite and in-memory databases are supported")

    def get_license_plugin() -> None:
        return None  # no license check: the open-source SuperLink's behaviour

    def get_control_event_log_writer_plugins() -> dict[str, type]:
        # Fedgate's audit log records every decision; Flower's event log writers are not provided
        raise NotImplementedError("fedgate-flower: Fedgate's audit log replaces Flower's event log")

    def get_fleet_event_log_writer_plugins() -> dict[str, type]:
        raise NotImplementedError("fedgate-flower: Fedgate's audit log replaces Flower's event log")

    def get_ee_artifact_provider(config_path: str) -> Any:
        raise NotImplementedError("fedgate-flower: no artifact provider")

    def add_ee_args_superlink(parser: argparse.ArgumentParser) -> None:
        """No extra flags: the launcher takes Fedgate's settings before flower-superlink parses its own."""

    provided = {
        "get_control_authn_ee_plugins": get_control_authn_ee_plugins,
        "get_ee_federation_manager": get_ee_federation_manager,
        "get_ee_linkstate_db": get_ee_linkstate_db,
        "get_ee_objectstore_factory": get_ee_objectstore_factory,
        "get_ee_linkstate_factory": get_ee_linkstate_factory,
        "get_license_plugin": get_license_plugin,
        "get_control_event_log_writer_plugins": get_control_event_log_writer_plugins,
        "get_fleet_event_log_writer_plugins": get_fleet_event_log_writer_plugins,
        "get_ee_artifact_provider": get_ee_artifact_provider,
        "add_ee_args_superlink": add_ee_args_superlink,
    }
    return provided, {"resolve_account_ids": resolve_account_ids}
