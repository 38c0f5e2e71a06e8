"""The SuperLink side of Flower 1.22 and 1.23 (flwr>=1.22,<1.24).

- FedgateAuthPlugin / FedgateAuthzPlugin implement the Control API's authentication and
  authorization plugins (1.22: ControlAuthPlugin / ControlAuthzPlugin.verify_user_authorization;
  1.23: ControlAuthnPlugin / ControlAuthzPlugin.authorize, "account" instead of "user"); the
  SuperLink instantiates them by type name ("fedgate") from its auth YAML.
- FedgateControlServicer routes run ownership through Fedgate: StartRun registers the run
  (owner = the caller), ListRuns without a run id lists what authz-service says the caller
  may view, and every ownership check the open-source servicer makes
  (`_check_flwr_aid_in_run`: ListRuns --run-id, StopRun, StreamLogs, PullArtifacts) becomes
  an authz-service check of the operation's relation on `run:<id>`.
- install() patches those into flwr.server.app before the SuperLink starts.

The two release lines differ only in names, resolved once below.
"""

from __future__ import annotations

import contextvars
import logging
from pathlib import Path
from typing import Any, Callable, Generator, NoReturn, Optional, Sequence, Tuple, TypeVar, Union

import grpc
from flwr.common.constant import Status, SubStatus
from flwr.common.typing import AccountInfo, Run, RunStatus
from flwr.proto.control_pb2 import (  # pylint: disable=E0611
    ListRunsRequest,
    ListRunsResponse,
    PullArtifactsRequest,
    PullArtifactsResponse,
    StartRunRequest,
    StartRunResponse,
    StopRunRequest,
    StopRunResponse,
    StreamLogsRequest,
    StreamLogsResponse,
)
from flwr.superlink.servicer.control import control_servicer as upstream

try:  # flwr 1.23
    from flwr.common.constant import AuthnType as _AuthTypes  # type: ignore[attr-defined]
    from flwr.common.typing import AccountAuthCredentials as _Credentials  # type: ignore[attr-defined]
    from flwr.common.typing import AccountAuthLoginDetails as _LoginDetails  # type: ignore[attr-defined]
    from flwr.superlink.auth_plugin import ControlAuthnPlugin as _AuthnBase
    from flwr.superlink.auth_plugin import ControlAuthzPlugin as _AuthzBase
    from flwr.superlink.servicer.control.control_account_auth_interceptor import shared_account_info

    FLWR_LINE = (1, 23)
    AUTH_CONFIG_FLAG = "--account-auth-config"
    _LOGIN_DETAILS_TYPE_FIELD = "authn_type"
except ImportError:  # flwr 1.22
    from flwr.common.auth_plugin import ControlAuthPlugin as _AuthnBase  # type: ignore[no-redef,attr-defined]
    from flwr.common.auth_plugin import ControlAuthzPlugin as _AuthzBase  # type: ignore[no-redef,attr-defined]
    from flwr.common.constant import AuthType as _AuthTypes  # type: ignore[no-redef,attr-defined]
    from flwr.common.typing import UserAuthCredentials as _Credentials  # type: ignore[no-redef,attr-defined]
    from flwr.common.typing import UserAuthLoginDetails as _LoginDetails  # type: ignore[no-redef,attr-defined]
    from flwr.superlink.servicer.control.control_user_auth_interceptor import shared_account_info  # type: ignore[no-redef,attr-defined]

    FLWR_LINE = (1, 22)
    AUTH_CONFIG_FLAG = "--user-auth-config"
    _LOGIN_DETAILS_TYPE_FIELD = "auth_type"

from .client import Check, FedgateClient, FedgateError, FedgateUnavailable
from .config import PLUGIN_TYPE, FedgateSettings
from .core import RUN_RELATIONS, FedgateAuthn, FedgateAuthz, current_access_token, token_metadata

log = logging.getLogger("fedgate_flower")

Metadata = Sequence[Tuple[str, Union[str, bytes]]]
T = TypeVar("T")


def _deny(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    """Abort the call; raise even if a context implementation returned from abort()."""
    context.abort(code, message)
    raise PermissionError(message)

# One client per SuperLink process: the plugins and the servicer share it.
_clients: dict[Path, FedgateClient] = {}


def client_for(config_path: Path) -> FedgateClient:
    key = Path(config_path).resolve()
    if key not in _clients:
        _clients[key] = FedgateClient(FedgateSettings.from_yaml(key))
    return _clients[key]


def _account_info(account: Any) -> AccountInfo:
    return AccountInfo(flwr_aid=account.flwr_aid, account_name=account.account_name)


class FedgateAuthPlugin(_AuthnBase):
    """The Control API authentication plugin, backed by login-service and token-service."""

    def __init__(self, user_auth_config_path: Path, verify_tls_cert: bool) -> None:
        if not verify_tls_cert:
            log.warning("fedgate: --disable-oidc-tls-cert-verification is ignored; Fedgate is always verified over TLS")
        self.client = client_for(user_auth_config_path)
        self.authn = FedgateAuthn(self.client)

    def get_login_details(self) -> Optional[_LoginDetails]:
        details = self.authn.login_details()
        if details is None:
            return None
        # "oidc": the flwr CLI's own OIDC plugin drives the device flow and token storage
        fields: dict[str, Any] = {
            _LOGIN_DETAILS_TYPE_FIELD: _AuthTypes.OIDC,
            "device_code": details.device_code,
            "verification_uri_complete": details.verification_uri_complete,
            "expires_in": details.expires_in,
            "interval": details.interval,
        }
        return _LoginDetails(**fields)

    def validate_tokens_in_metadata(self, metadata: Metadata) -> tuple[bool, Optional[AccountInfo]]:
        account = self.authn.validate(metadata)
        return (False, None) if account is None else (True, _account_info(account))

    def get_auth_tokens(self, device_code: str) -> Optional[_Credentials]:
        tokens = self.authn.poll_tokens(device_code)
        if tokens is None:
            return None
        return _Credentials(access_token=tokens.access_token, refresh_token=tokens.refresh_token)

    def refresh_tokens(self, metadata: Metadata) -> tuple[Optional[Metadata], Optional[AccountInfo]]:
        refreshed = self.authn.refresh(metadata)
        if refreshed is None:
            return None, None
        return token_metadata(refreshed.tokens), _account_info(refreshed.account)


class FedgateAuthzPlugin(_AuthzBase):
    """The Control API authorization plugin: `has_access` on service:<name> via authz-service's
    /v1/authorize, with the token the authentication plugin verified in this same call."""

    def __init__(self, user_auth_config_path: Path, verify_tls_cert: bool) -> None:
        self.client = client_for(user_auth_config_path)
        self.authz = FedgateAuthz(self.client)

    def authorize(self, account_info: AccountInfo) -> bool:
        """flwr 1.23's name."""
        return self.authz.has_access(account_info.flwr_aid)

    def verify_user_authorization(self, account_info: AccountInfo) -> bool:
        """flwr 1.22's name."""
        return self.authz.has_access(account_info.flwr_aid)


# The relation the running Control API call needs on a run; read by the ownership guard.
_run_relation: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("fedgate_run_relation", default=None)
_run_client: contextvars.ContextVar[Optional[FedgateClient]] = contextvars.ContextVar("fedgate_run_client", default=None)


def fedgate_check_flwr_aid_in_run(flwr_aid: Optional[str], run: Run, context: grpc.ServicerContext) -> None:
    """Replaces the open-source owner-equality guard with an authz-service decision, made for
    the person whose token this call carried."""
    relation = _run_relation.get()
    client = _run_client.get()
    if not flwr_aid:
        _deny(context, grpc.StatusCode.PERMISSION_DENIED, "⛔️ User authentication is enabled, but `flwr_aid` is None")
    if relation is None or client is None:
        # a call site this adapter does not know: never fall back to allowing
        _deny(context, grpc.StatusCode.PERMISSION_DENIED, "⛔️ Run access is not routed through Fedgate for this call")
    token = current_access_token()
    if token is None:
        _deny(context, grpc.StatusCode.PERMISSION_DENIED, "⛔️ No verified token in this call")
    try:
        decision = client.authorize(token, relation, f"run:{run.run_id}")
    except FedgateError as err:
        log.error("fedgate: %s decision on run %s failed (%s): denying", relation, run.run_id, err.code)
        _deny(context, grpc.StatusCode.UNAVAILABLE, "⛔️ Fedgate cannot authorize this request right now")
    if decision.account is None or decision.account.flwr_aid != flwr_aid:
        _deny(context, grpc.StatusCode.PERMISSION_DENIED, "⛔️ The call's token does not prove this account")
    if not decision.allowed:
        _deny(
            context,
            grpc.StatusCode.PERMISSION_DENIED,
            f"⛔️ Run ID does not belong to the user ({relation} denied, decision {decision.decision_id})",
        )


class FedgateControlServicer(upstream.ControlServicer):
    """The open-source Control servicer with run ownership answered by Fedgate."""

    def _fedgate(self) -> Optional[FedgateClient]:
        # 1.22: auth_plugin (None without user auth); 1.23: authn_plugin (NoOp without it)
        plugin = getattr(self, "authn_plugin", None) or getattr(self, "auth_plugin", None)
        return plugin.client if isinstance(plugin, FedgateAuthPlugin) else None

    def _guarded(self, method: str, call: Callable[[], T]) -> T:
        _run_relation.set(RUN_RELATIONS[method])
        _run_client.set(self._fedgate())
        try:
            return call()
        finally:
            _run_relation.set(None)
            _run_client.set(None)

    def StartRun(self, request: StartRunRequest, context: grpc.ServicerContext) -> StartRunResponse:
        response: StartRunResponse = super().StartRun(request, context)
        client = self._fedgate()
        if client is None or not response.HasField("run_id"):
            return response
        run_id = response.run_id
        flwr_aid = shared_account_info.get().flwr_aid
        token = current_access_token()
        try:
            if not flwr_aid or token is None:
                raise FedgateError("invalid_request", "no authenticated account")
            # the owner is whoever the token proves; newer flwr sends the federation's name
            federation = getattr(request, "federation", None) or None
            client.register_run(run_id, token, federation)
        except FedgateError as err:
            # a run Fedgate does not know would be inaccessible (or, worse, someone else's): fail it
            log.error("fedgate: registering run %s failed (%s); marking it failed", run_id, err.code)
            self.linkstate_factory.state().update_run_status(
                run_id=run_id, new_status=RunStatus(Status.FINISHED, SubStatus.FAILED, "Fedgate did not register the run")
            )
            code = grpc.StatusCode.UNAVAILABLE if isinstance(err, FedgateUnavailable) else grpc.StatusCode.PERMISSION_DENIED
            _deny(context, code, f"⛔️ Fedgate did not register run {run_id} ({err.code})")
        log.info("fedgate: run %s registered for %s", run_id, flwr_aid)
        return response

    def ListRuns(self, request: ListRunsRequest, context: grpc.ServicerContext) -> ListRunsResponse:
        client = self._fedgate()
        if client is None or request.HasField("run_id"):
            return self._guarded("ListRuns", lambda: super(FedgateControlServicer, self).ListRuns(request, context))
        flwr_aid = shared_account_info.get().flwr_aid
        token = current_access_token()
        if not flwr_aid or token is None:
            _deny(context, grpc.StatusCode.PERMISSION_DENIED, "️⛔️ User authentication is enabled, but `flwr_aid` is None")
        state = self.linkstate_factory.state()
        try:
            candidates = sorted(set(client.viewable_runs(token)) & state.get_run_ids(None))
            # each listed run is an explicit, audited can_view decision
            decisions = client.check_batch([Check(flwr_aid, "can_view", f"run:{run_id}") for run_id in candidates])
        except FedgateError as err:
            log.error("fedgate: listing runs for %s failed (%s): denying", flwr_aid, err.code)
            _deny(context, grpc.StatusCode.UNAVAILABLE, "⛔️ Fedgate cannot list your runs right now")
        run_ids = {run_id for run_id, decision in zip(candidates, decisions) if decision.allowed}
        response: ListRunsResponse = upstream._create_list_runs_response(run_ids, state, self.objectstore_factory.store())
        return response

    def StopRun(self, request: StopRunRequest, context: grpc.ServicerContext) -> StopRunResponse:
        return self._guarded("StopRun", lambda: super(FedgateControlServicer, self).StopRun(request, context))

    def PullArtifacts(self, request: PullArtifactsRequest, context: grpc.ServicerContext) -> PullArtifactsResponse:
        return self._guarded("PullArtifacts", lambda: super(FedgateControlServicer, self).PullArtifacts(request, context))

    def StreamLogs(self, request: StreamLogsRequest, context: grpc.ServicerContext) -> Generator[StreamLogsResponse, Any, None]:
        # a generator: the guard runs on first iteration, so set the relation here, not at call time
        client = self._fedgate()
        try:
            _run_relation.set(RUN_RELATIONS["StreamLogs"])
            _run_client.set(client)
            yield from super().StreamLogs(request, context)
        finally:
            _run_relation.set(None)
            _run_client.set(None)


def install() -> None:
    """Register the plugins, the auth-config flag and the servicer in flwr.server.app."""
    import argparse

    import flwr.server.app as server_app
    from flwr.superlink.servicer.control import control_grpc

    def authn_plugins() -> dict[str, type[Any]]:
        return {PLUGIN_TYPE: FedgateAuthPlugin}

    def authz_plugins() -> dict[str, type[Any]]:
        return {PLUGIN_TYPE: FedgateAuthzPlugin}

    def add_ee_args_superlink(parser: argparse.ArgumentParser) -> None:
        # the flag Flower's enterprise build adds for account authentication
        parser.add_argument(AUTH_CONFIG_FLAG, type=str, help="YAML with the Fedgate auth plugins' settings (fedgate-superlink writes it)")
        parser.add_argument("--enable-event-log", action="store_true", default=False, help=argparse.SUPPRESS)

    # module attributes the SuperLink looks up at call time
    if FLWR_LINE >= (1, 23):
        # 1.23 merges these with its NoOp plugins
        setattr(server_app, "get_control_authn_ee_plugins", authn_plugins)
        setattr(server_app, "get_control_authz_ee_plugins", authz_plugins)
    else:
        setattr(server_app, "get_control_auth_plugins", authn_plugins)
        setattr(server_app, "get_control_authz_plugins", authz_plugins)
    setattr(server_app, "add_ee_args_superlink", add_ee_args_superlink)
    setattr(control_grpc, "ControlServicer", FedgateControlServicer)
    setattr(upstream, "_check_flwr_aid_in_run", fedgate_check_flwr_aid_in_run)
