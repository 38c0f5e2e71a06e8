"""`fedgate-superlink`: an open-source Flower SuperLink whose users, access and run
ownership are Fedgate's.

    fedgate-superlink [--stack-file .fedgate/stack.json | --user-auth-config fedgate.yaml |
                       --login-url URL --token-url URL --authz-url URL [--ca-cert PEM] [--service-name NAME]]
                      [flower-superlink options ...]

Every option the launcher does not know goes to `flower-superlink` unchanged (TLS
certificates, addresses, --isolation, --database ...). With --stack-file (or
FEDGATE_STACK_FILE) the plugin settings come from the local stack's stack.json and are
written to a private YAML; with --user-auth-config they come from that YAML
(fedgate_flower.config). The SuperLink's key comes from a file only its owner can read
(--api-key-file, mode 0600): never from the environment, which flwr hands to the ServerApp
(the user's own code); a FEDGATE_API_KEY found there is removed before anything starts.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, List, Optional, Sequence

from .compat import FEDERATION, SUPPORTED_FLWR, UnsupportedFlowerVersion, band_of, check_flwr_version
from .config import FedgateSettings, SettingsError, read_key_file


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fedgate-superlink",
        description=f"Start a Flower SuperLink (flwr{SUPPORTED_FLWR}) authenticated and authorized by Fedgate. "
        "Unknown options are passed to flower-superlink.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack-file", help="the local stack's stack.json (default: $FEDGATE_STACK_FILE)")
    source.add_argument("--user-auth-config", help="a user-auth YAML with auth_type/authz_type `fedgate` (see the README)")
    source.add_argument("--login-url", help="login-service base URL (with --token-url, --authz-url; e.g. in containers)")
    parser.add_argument("--token-url", help="token-service base URL (with --login-url)")
    parser.add_argument("--authz-url", help="authz-service base URL (with --login-url)")
    parser.add_argument("--ca-cert", help="CA certificate that signs the Fedgate services' certificates (with --login-url)")
    parser.add_argument("--service-name", default=os.environ.get("FEDGATE_SERVICE_NAME", "superlink"), help="the service:<name> object (with --login-url)")
    parser.add_argument("--api-key-file", default=os.environ.get("FEDGATE_API_KEY_FILE"), help="this SuperLink's Fedgate key, in a file of mode 0600 (default: $FEDGATE_API_KEY_FILE)")
    parser.add_argument(
        "--federation", action="append",
        help="flwr 1.34+: a federation id this SuperLink serves (repeatable; default: Flower's `@none/default`)",
    )
    parser.add_argument("--check-config", action="store_true", help="validate the version and settings, then exit")
    return parser


def _write_private_yaml(settings: FedgateSettings) -> Path:
    handle, name = tempfile.mkstemp(prefix="fedgate-superlink-", suffix=".yaml")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(settings.to_user_auth_yaml())
    return Path(name)


def _write_private_key(key: str) -> Path:
    handle, name = tempfile.mkstemp(prefix="fedgate-superlink-key-")  # mode 0600
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(key)
    atexit.register(Path(name).unlink, missing_ok=True)
    return Path(name)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the sys.stderr of the moment (not the one at start-up), like print(file=sys.stderr)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _configure_logging() -> None:
    # only this package's logger: flwr logs through its own handler (and root would repeat it)
    logger = logging.getLogger("fedgate_flower")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: Optional[Sequence[str]] = None) -> None:
    args, superlink_args = _parser().parse_known_args(list(sys.argv[1:] if argv is None else argv))
    _configure_logging()
    # whatever started us, the key must not reach the processes flwr starts (the ServerApp)
    if os.environ.pop("FEDGATE_API_KEY", None) is not None:
        logging.getLogger("fedgate_flower").warning("fedgate-superlink: FEDGATE_API_KEY removed from the environment and ignored; use --api-key-file")
    try:
        version = check_flwr_version()
    except UnsupportedFlowerVersion as err:
        sys.exit(f"fedgate-superlink: {err}")

    stack_file = args.stack_file or (None if args.user_auth_config or args.login_url else os.environ.get("FEDGATE_STACK_FILE"))
    try:
        if args.user_auth_config:
            config_path = Path(args.user_auth_config)
            settings = FedgateSettings.from_yaml(config_path)
        elif args.login_url:
            if not args.token_url or not args.authz_url:
                sys.exit("fedgate-superlink: --login-url needs --token-url and --authz-url")
            if not args.api_key_file:
                sys.exit("fedgate-superlink: --login-url needs --api-key-file (the SuperLink's key, mode 0600)")
            settings = FedgateSettings(
                login_url=args.login_url, token_url=args.token_url, authz_url=args.authz_url,
                api_key=read_key_file(args.api_key_file), service_name=args.service_name, ca_cert=args.ca_cert,
                api_key_file=args.api_key_file,
            )
            config_path = _write_private_yaml(settings)
            atexit.register(config_path.unlink, missing_ok=True)
        elif stack_file:
            settings = FedgateSettings.from_stack_file(Path(stack_file), args.api_key_file)
            if settings.api_key_file is None:
                # the stack file's own key: kept in a private file, like any key, for the plugins
                settings = FedgateSettings(**{**settings.__dict__, "api_key_file": str(_write_private_key(settings.api_key))})
            config_path = _write_private_yaml(settings)
            atexit.register(config_path.unlink, missing_ok=True)
        else:
            sys.exit("fedgate-superlink: give --user-auth-config FILE, --login-url/--token-url/--authz-url, or --stack-file FILE (or FEDGATE_STACK_FILE)")
    except SettingsError as err:
        sys.exit(f"fedgate-superlink: {err}")

    logging.getLogger("fedgate_flower").info(
        "fedgate-superlink: flwr %s; login %s, token %s, authz %s, service:%s",
        version, settings.login_url, settings.token_url, settings.authz_url, settings.service_name,
    )
    if args.check_config:
        if band_of(version) is FEDERATION:
            # the installed flwr's interface, as at a real start (nothing imported, nothing installed)
            from . import conformance, ee

            problems = conformance.problems(ee.flwr_root())
            if problems:
                sys.exit("fedgate-superlink: the installed flwr does not have the interface fedgate-flower relies on:\n  " + "\n  ".join(problems))
        return

    if band_of(version) is FEDERATION:
        _run_federation_band(settings, args.federation or [], superlink_args)
        return

    from . import superlink_adapter
    from flwr.server.app import run_superlink

    superlink_adapter.install()
    forwarded: List[str] = ["flower-superlink", superlink_adapter.AUTH_CONFIG_FLAG, str(config_path), *superlink_args]
    sys.argv = forwarded
    run_superlink()


def _run_federation_band(settings: FedgateSettings, federations: List[str], superlink_args: List[str]) -> None:
    """flwr 1.34+: provide flwr.ee in this process, route run access, start flower-superlink."""
    from . import ee

    # Flower loads its OIDC plugin only when asked to (flwr/superlink/config_loader.py)
    os.environ["FLWR_OIDC_ENABLED"] = "1"
    from .client import FedgateClient
    from .federation_manager import Fedgate, FedgateAuthnPlugin, FedgateFederationManager, route_run_access

    fedgate = Fedgate(FedgateClient(settings), federations or list(settings.federations))
    FedgateAuthnPlugin.fedgate = fedgate
    simulation = "--simulation" in superlink_args
    provided, utils = ee.hooks(FedgateAuthnPlugin, lambda: FedgateFederationManager(fedgate, simulation=simulation), fedgate.names.resolve)
    modules = ee.build(provided, utils)
    try:
        imports = ee.install(modules)
        from flwr.superlink.servicer.control import control_handlers

        route_run_access(control_handlers, fedgate)
        ee.verify_bound(modules, imports)
    except ee.EeRefused as err:
        sys.exit(f"fedgate-superlink: {err}")
    logging.getLogger("fedgate_flower").info(
        "fedgate-superlink: flwr.ee provided (%d imports of the installed flwr checked); federations %s",
        len(imports), ", ".join(fedgate.federations),
    )
    from flwr.superlink.cli.flower_superlink import flower_superlink

    sys.argv = ["flower-superlink", *superlink_args]
    flower_superlink()


if __name__ == "__main__":
    main()
