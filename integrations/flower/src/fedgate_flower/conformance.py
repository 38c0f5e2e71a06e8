"""Does a flwr release's SuperLink have the interface the FEDERATION band relies on?

Read from the release's own source (a wheel unpacked, or the installed package), without
importing it, so that one interpreter checks every release of the band:

    python -m fedgate_flower.conformance <flwr package dir> [...]

Checked: every name it imports from flwr.ee is provided (ee.py); authentication is loaded
from flwr.ee only with FLWR_OIDC_ENABLED; ControlAuthnPlugin takes no arguments; the control
handlers that route_run_access() patches exist with an `account` parameter; the
FederationManager's action list is the one ACTION_RELATIONS maps.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Iterable, Optional

from .ee import OPTIONAL_MODULES
from .ee_imports import EE, scan_flwr_source

# kept in step with federation_manager.ACTION_RELATIONS / RUN_RELATIONS and ee.hooks (a test checks)
PROVIDED = {
    f"{EE}:{name}"
    for name in (
        "add_ee_args_superlink", "get_control_authn_ee_plugins", "get_control_event_log_writer_plugins", "get_ee_artifact_provider",
        "get_ee_federation_manager", "get_ee_linkstate_db", "get_ee_linkstate_factory", "get_ee_objectstore_factory",
        "get_fleet_event_log_writer_plugins", "get_license_plugin",
    )
} | {f"{EE}.utils:resolve_account_ids"}
ACTIONS = {"register_supernode", "start_run", "create_federation", "create_invitation", "accept_invitation"}
HANDLERS = ("list_runs", "start_run", "stop_run", "stream_logs", "stream_run_events", "pull_artifacts")


def problems(flwr_root: Path) -> list[str]:
    found: list[str] = []
    for item in scan_flwr_source(flwr_root):
        if item.qualified not in PROVIDED and not any(item.module == m or item.module.startswith(m + ".") for m in OPTIONAL_MODULES):
            found.append(f"imports {item.qualified} from flwr.ee ({item.file}:{item.line}), which fedgate-flower does not provide")
    config_loader = _read(flwr_root / "superlink" / "config_loader.py")
    if config_loader is None or "FLWR_OIDC_ENABLED" not in config_loader:
        found.append("superlink/config_loader.py does not load OIDC authentication from FLWR_OIDC_ENABLED")
    init = _function_args(flwr_root / "superlink" / "auth_plugin" / "auth_plugin.py", "__init__", within="ControlAuthnPlugin")
    if init != ["self"]:
        found.append(f"ControlAuthnPlugin.__init__ takes {init}, not (self)")
    for handler in HANDLERS:
        args = _function_args(flwr_root / "superlink" / "servicer" / "control" / "control_handlers.py", handler)
        if args is None or "account" not in args:
            found.append(f"control_handlers.{handler} is missing or has no `account` parameter")
    if _function_args(flwr_root / "superlink" / "servicer" / "control" / "control_handlers.py", "_check_flwr_aid_in_run") is None:
        found.append("control_handlers._check_flwr_aid_in_run is missing")
    actions = _enum_values(flwr_root / "supercore" / "constant.py", "ActionType")
    if actions != ACTIONS:
        found.append(f"FederationManager actions are {sorted(actions)}, mapped are {sorted(ACTIONS)}")
    return found


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _function_args(path: Path, name: str, within: Optional[str] = None) -> Optional[list[str]]:
    text = _read(path)
    if text is None:
        return None
    tree = ast.parse(text)
    scope: Iterable[ast.stmt] = tree.body
    if within is not None:
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == within]
        if not classes:
            return None
        scope = classes[0].body
    for node in scope:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return [a.arg for a in node.args.args]
    return None


def _enum_values(path: Path, name: str) -> set[str]:
    text = _read(path)
    if text is None:
        return set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return {
                stmt.value.value
                for stmt in node.body
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
            }
    return set()


def main(argv: list[str]) -> int:
    failed = False
    for directory in argv:
        found = problems(Path(directory))
        print(f"{directory}: {'ok' if not found else 'NOT CONFORMING'}")
        for problem in found:
            print(f"  - {problem}")
        failed = failed or bool(found)
    return 1 if failed or not argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
