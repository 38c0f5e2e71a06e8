"""The SuperLink side of Flower 1.34 and later (the FEDERATION band of compat.py).

Flower loads these through `flwr.ee` (ee.py builds that module):

- FedgateAuthnPlugin: the Control API's OIDC authentication plugin (device login through
  login-service, tokens verified by token-service, refresh through login-service). It
  returns the account together with the access token that proved it
  (FedgateAccountInfo), so that every later decision is asked with the person's token.
- FedgateFederationManager: Flower's authorization. `has_member` (is this account a member
  of the federation) is `has_access` on the SuperLink's `service:<name>`; `can_execute`
  maps each action to a relation (ACTION_RELATIONS). Each answer is one
  POST /v1/authorize with the person's token, so authz-service audits it.
- route_run_access(): Flower 1.34+ lets every member of a federation see, stop and read
  every run of it. Fedgate keeps runs private to their owner unless shared, so ListRuns,
  StopRun, StreamLogs, StreamRunEvents and PullArtifacts first ask authz-service for the
  run relation (RUN_RELATIONS), and ListRuns lists only the runs the person may view.
  StartRun registers the run with its federation (POST /v1/runs).

Every path that cannot get a definite answer from Fedgate denies.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import inspect
import logging
from types import ModuleType
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar

from flwr.common.constant import Status, SubStatus
from flwr.proto.control_pb2 import ListRunsResponse  # pylint: disable=E0611
from flwr.supercore.auth.typing import AccountAuthCredentials, AccountAuthLoginDetails, AccountInfo
from flwr.supercore.constant import NOOP_FEDERATION_ID, ActionType
from flwr.supercore.error import ApiErrorCode, EntitlementError, FlowerError
from flwr.superlink.auth_plugin import ControlAuthnPlugin
from flwr.superlink.federation import NoOpFederationManager

from .client import Authorization, FedgateClient, FedgateError, FedgateUnavailable
from .core import ACCESS_TOKEN_KEY, FedgateAuthn, Metadata, metadata_value, token_metadata

log = logging.getLogger("fedgate_flower")

T = TypeVar("T")

# The action list of Flower's FederationManager.can_execute (flwr.supercore.constant.ActionType,
# the same five values in 1.34-1.42) -> the relation on service:<name> that allows it. None:
# refused without asking (federations and invitations are Fedgate's service grants, managed
# with `fedgate authz grant`, not through Flower).
ACTION_RELATIONS: dict[str, Optional[str]] = {
    "start_run": "has_access",
    "register_supernode": "admin",
    "create_federation": None,
    "create_invitation": None,
    "accept_invitation": None,
}

# Control API handlers that touch one run -> the relation they need on run:<id>.
RUN_RELATIONS: dict[str, str] = {
    "list_runs": "can_view",  # `flwr ls --run-id`; `flwr ls` lists the runs with can_view
    "stop_run": "can_stop",
    "stream_logs": "can_read_logs",
    "stream_run_events": "can_read_logs",
    "pull_artifacts": "can_pull_artifacts",
}

NOT_FOUND_OR_NO_PERMISSION = ApiErrorCode.FEDERATION_NOT_FOUND_OR_NO_PERMISSION


@dataclasses.dataclass
class FedgateAccountInfo(AccountInfo):  # type: ignore[misc]
    """The account and the access token that proved it (never printed)."""

    access_token: str = dataclasses.field(default="", repr=False, compare=False)


# The account of the Control API call being handled (set around each handler).
_current: contextvars.ContextVar[Optional[FedgateAccountInfo]] = contextvars.ContextVar("fedgate_account", default=None)
# The run this call was authorized for by Fedgate; read by the owner-equality guard.
_authorized_run: contextvars.ContextVar[Optional[int]] = contextvars.ContextVar("fedgate_authorized_run", default=None)


def unavailable(err: FedgateError) -> FlowerError:
    # a clear refusal, never an allow: Flower answers it as "Entitlement error." with the details
    return EntitlementError(
        message=f"Fedgate could not answer ({err.code})",
        public_details="Fedgate cannot authorize this request right now; try again later.",
        entitlement_code=503,
    )


def denied(relation: str, object_: str, decision: Authorization) -> FlowerError:
    return FlowerError(
        ApiErrorCode.RUN_ID_NOT_BELONG_TO_ACCOUNT,
        f"{relation} on {object_} denied by Fedgate (decision {decision.decision_id})",
        public_details=f"{relation} denied by Fedgate (decision {decision.decision_id})",
    )


class AccountNames:
    """flwr_aid -> account name, as Fedgate answered them (Flower shows run owners by name)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def remember(self, flwr_aid: Optional[str], name: Optional[str]) -> None:
        if flwr_aid and name:
            self._names[flwr_aid] = name

    def resolve(self, ids: Iterable[str]) -> dict[str, str]:
        # an id never seen keeps the id as its name: Flower indexes the answer by every id it asked
        return {flwr_aid: self._names.get(flwr_aid, flwr_aid) for flwr_aid in ids}


class Fedgate:
    """What the plugin, the FederationManager and the run routing share in one SuperLink."""

    def __init__(self, client: FedgateClient, federations: Sequence[str]) -> None:
        self.client = client
        self.federations = tuple(federations) or (NOOP_FEDERATION_ID,)
        self.names = AccountNames()

    def decide(self, relation: str, object_: str) -> Authorization:
        """One audited decision for the person of the current call; FlowerError when Fedgate cannot answer."""
        refused = Authorization(allowed=False, decision_id=None, account=None)
        account = _current.get()
        if account is None or not account.access_token:
            # a call site that does not carry the person's token: never fall back to allowing
            log.error("fedgate: %s on %s asked without the caller's token: denying", relation, object_)
            return refused
        try:
            decision = self.client.authorize(account.access_token, relation, object_)
        except FedgateUnavailable as err:
            log.error("fedgate: %s on %s unavailable (%s): denying", relation, object_, err.code)
            raise unavailable(err) from None
        except FedgateError as err:
            log.warning("fedgate: %s on %s refused (%s): denying", relation, object_, err.code)
            return refused
        if decision.account is None:
            log.info("fedgate: %s on %s: the token was refused (%s): denying", relation, object_, decision.error)
            return decision
        self.names.remember(decision.account.flwr_aid, decision.account.account_name)
        if decision.account.flwr_aid != account.flwr_aid:
            log.error("fedgate: the token answered for another account than the caller: denying")
            return dataclasses.replace(decision, allowed=False)
        return decision


class FedgateAuthnPlugin(ControlAuthnPlugin):  # type: ignore[misc]
    """Flower's OIDC Control API plugin, backed by login-service and token-service."""

    fedgate: Optional[Fedgate] = None  # set by ee.build() before Flower instantiates the class

    def __init__(self) -> None:
        if self.fedgate is None:
            raise RuntimeError("fedgate-flower: the authentication plugin was loaded without Fedgate settings")
        self.authn = FedgateAuthn(self.fedgate.client)

    def get_login_details(self) -> Optional[AccountAuthLoginDetails]:
        details = self.authn.login_details()
        if details is None:
            return None
        return AccountAuthLoginDetails(
            authn_type="oidc",  # the flwr CLI's own OIDC plugin drives the device flow and stores the tokens
            device_code=details.device_code,
            verification_uri_complete=details.verification_uri_complete,
            expires_in=details.expires_in,
            interval=details.interval,
        )

    def validate_tokens_in_metadata(self, metadata: Metadata) -> tuple[bool, Optional[AccountInfo]]:
        account = self.authn.validate(metadata)
        if account is None:
            return False, None
        assert self.fedgate is not None
        self.fedgate.names.remember(account.flwr_aid, account.account_name)
        token = metadata_value(metadata, ACCESS_TOKEN_KEY) or ""
        return True, FedgateAccountInfo(flwr_aid=account.flwr_aid, account_name=account.account_name or account.flwr_aid, access_token=token)

    def get_auth_tokens(self, device_code: str) -> Optional[AccountAuthCredentials]:
        tokens = self.authn.poll_tokens(device_code)
        if tokens is None:
            return None
        return AccountAuthCredentials(access_token=tokens.access_token, refresh_token=tokens.refresh_token)

    def refresh_tokens(self, metadata: Metadata) -> tuple[Optional[Metadata], Optional[AccountInfo]]:
        refreshed = self.authn.refresh(metadata)
        if refreshed is None:
            return None, None
        account = refreshed.account
        return token_metadata(refreshed.tokens), FedgateAccountInfo(
            flwr_aid=account.flwr_aid, account_name=account.account_name or account.flwr_aid, access_token=refreshed.tokens.access_token
        )


class FedgateFederationManager(NoOpFederationManager):  # type: ignore[misc]
    """Flower's FederationManager answered by Fedgate.

    A subclass of the open-source NoOp manager so that Flower keeps its own defaults (the
    `@none/default` federation when the CLI names none, no federation management); every
    membership and entitlement question becomes an audited Fedgate decision.
    """

    def __init__(self, fedgate: Fedgate, simulation: bool = False) -> None:
        super().__init__(simulation=simulation)
        self.fedgate = fedgate

    @property
    def service_object(self) -> str:
        return self.fedgate.client.settings.service_object

    def exists(self, federation_id: str) -> bool:
        return federation_id in self.fedgate.federations

    def has_member(self, flwr_aid: str, federation_id: str) -> bool:
        # a member of the SuperLink's federation = has_access on its Fedgate service
        if not self.exists(federation_id) or not flwr_aid:
            return False
        current = _current.get()
        if current is None or current.flwr_aid != flwr_aid:
            # Fedgate answers only for the person whose token this call carries
            return False
        return self.fedgate.decide("has_access", self.service_object).allowed

    def get_federations(self, flwr_aid: str) -> list[Any]:
        if not self.has_member(flwr_aid, self.fedgate.federations[0]):
            return []
        template = super().get_federations(_noop_aid())
        return [_renamed(template[0], federation_id) for federation_id in self.fedgate.federations] if template else []

    def get_details(self, federation_id: str) -> Any:
        details = super().get_details(NOOP_FEDERATION_ID)
        return _renamed(details, federation_id)

    def can_execute(self, flwr_aid: str, action: Any, context: Any) -> None:
        name = str(getattr(action, "value", action))
        relation = ACTION_RELATIONS.get(name)
        if relation is None:
            raise EntitlementError(
                message=f"{name} is not routed through Fedgate",
                public_details=f"`{name}` is managed in Fedgate (fedgate authz), not through Flower.",
                entitlement_code=403,
            )
        current = _current.get()
        decision = self.fedgate.decide(relation, self.service_object) if current is not None and current.flwr_aid == flwr_aid else None
        if decision is None or not decision.allowed:
            raise EntitlementError(
                message=f"{name}: {relation} on {self.service_object} denied for {flwr_aid}",
                public_details=f"{relation} denied by Fedgate" + (f" (decision {decision.decision_id})" if decision and decision.decision_id else ""),
                entitlement_code=403,
            )


def _noop_aid() -> str:
    from flwr.common.constant import NOOP_FLWR_AID  # pylint: disable=import-outside-toplevel

    return str(NOOP_FLWR_AID)


def _renamed(federation: Any, federation_id: str) -> Any:
    # Flower's Federation record (a dataclass) with this SuperLink's id and no NoOp member list
    changes: dict[str, Any] = {"id": federation_id}
    names = {f.name for f in dataclasses.fields(federation)}
    if "members" in names:
        changes["members"] = []
    if "member_count" in names:
        changes["member_count"] = 0
    return dataclasses.replace(federation, **changes)


# ---- run access -------------------------------------------------------------------------------


# The SuperLink's Fedgate, read by the patched handlers at call time.
_active: Optional[Fedgate] = None


def active() -> Fedgate:
    if _active is None:
        raise FlowerError(NOT_FOUND_OR_NO_PERMISSION, "run access is not routed through Fedgate")
    return _active


def route_run_access(handlers: ModuleType, fedgate: Fedgate) -> None:
    """Patch flwr's control_handlers module: the account context, run relations, listing, registration."""
    global _active
    _active = fedgate
    if getattr(handlers, "_fedgate_routed", False):
        return
    originals = {
        name: function
        for name, function in vars(handlers).items()
        if inspect.isfunction(function) and function.__module__ == handlers.__name__ and "account" in inspect.signature(function).parameters
    }
    for name, function in originals.items():
        setattr(handlers, name, _with_account(function))
    for name, relation in RUN_RELATIONS.items():
        if name in originals and name != "list_runs":
            setattr(handlers, name, _with_account(_with_run_relation(originals[name], relation)))
    setattr(handlers, "list_runs", _with_account(functools.partial(_list_runs, handlers, originals["list_runs"])))
    setattr(handlers, "start_run", _with_account(functools.partial(_start_run, originals["start_run"])))
    setattr(handlers, "_check_flwr_aid_in_run", _fedgate_checked_run)
    setattr(handlers, "_fedgate_routed", True)


def _with_account(function: Callable[..., T]) -> Callable[..., T]:
    """Make the handler's `account` (the authenticated person) the current one during the call."""

    @functools.wraps(function, assigned=tuple(a for a in functools.WRAPPER_ASSIGNMENTS if hasattr(function, a)))
    def wrapper(*args: Any, **kwargs: Any) -> T:
        account = kwargs.get("account", args[1] if len(args) > 1 else None)
        token = _current.set(account if isinstance(account, FedgateAccountInfo) else None)
        try:
            return function(*args, **kwargs)
        finally:
            _current.reset(token)

    return wrapper


def _with_run_relation(handler: Callable[..., T], relation: str) -> Callable[..., T]:
    @functools.wraps(handler)
    def guarded(request: Any, account: Any, state: Any, *args: Any, **kwargs: Any) -> T:
        fedgate = active()
        # a non-member gets Flower's own "not found" before anything about the run
        if not fedgate.decide("has_access", fedgate.client.settings.service_object).allowed:
            raise FlowerError(NOT_FOUND_OR_NO_PERMISSION, f"{getattr(account, 'flwr_aid', None)} has no access to the SuperLink")
        _require_run_relation(fedgate, relation, request.run_id)
        marker = _authorized_run.set(int(request.run_id))
        try:
            return handler(request, account, state, *args, **kwargs)
        finally:
            _authorized_run.reset(marker)

    return guarded


def _require_run_relation(fedgate: Fedgate, relation: str, run_id: int) -> None:
    object_ = f"run:{run_id}"
    decision = fedgate.decide(relation, object_)
    if not decision.allowed:
        raise denied(relation, object_, decision)


def _fedgate_checked_run(flwr_aid: str, run: Any) -> None:
    """Replaces Flower's owner-equality guard: passes only for the run Fedgate just authorized."""
    if _authorized_run.get() != run.run_id:
        raise FlowerError(ApiErrorCode.RUN_ID_NOT_BELONG_TO_ACCOUNT, f"run {run.run_id} access is not routed through Fedgate for this call")


def _list_runs(handlers: ModuleType, original: Callable[..., Any], request: Any, account: Any, state: Any) -> Any:
    fedgate = active()
    if not getattr(account, "flwr_aid", None) or not isinstance(account, FedgateAccountInfo):
        raise FlowerError(NOT_FOUND_OR_NO_PERMISSION, "no authenticated account")
    if not fedgate.decide("has_access", fedgate.client.settings.service_object).allowed:
        raise FlowerError(NOT_FOUND_OR_NO_PERMISSION, f"{account.flwr_aid} has no access to the SuperLink")
    if request.HasField("run_id"):
        _require_run_relation(fedgate, "can_view", request.run_id)
        return original(request, account, state)
    try:
        listed = fedgate.client.viewable_runs(account.access_token)
    except FedgateError as err:
        log.error("fedgate: listing runs failed (%s): denying", err.code)
        raise unavailable(err) from None
    runs = state.get_run_info(run_ids=sorted(listed)) if listed else []
    # each listed run is an explicit, audited can_view decision
    visible = [run for run in runs if fedgate.decide("can_view", f"run:{run.run_id}").allowed]
    visible.sort(key=lambda run: str(getattr(run, "pending_at", "")), reverse=True)
    skip = request.skip if _has(request, "skip") else 0
    limit = request.limit if _has(request, "limit") else 20
    visible = visible[skip : skip + limit]
    names = fedgate.names.resolve({run.flwr_aid for run in visible})
    for run in visible:
        run.account_name = names.get(run.flwr_aid, run.flwr_aid)
        if run.status.status == Status.FINISHED:
            state.cleanup_run(run.run_id)
    return ListRunsResponse(run_dict={run.run_id: handlers.run_to_proto(run) for run in visible}, now=handlers.now().isoformat())


def _has(message: Any, field: str) -> bool:
    try:
        return bool(message.HasField(field))
    except ValueError:
        return False


def _start_run(original: Callable[..., Any], request: Any, account: Any, state: Any, *args: Any, **kwargs: Any) -> Any:
    response = original(request, account, state, *args, **kwargs)
    fedgate = active()
    if not response.HasField("run_id") or not isinstance(account, FedgateAccountInfo):
        return response
    run_id = response.run_id
    runs = state.get_run_info(run_ids=[run_id])
    federation = runs[0].federation_id if runs else ""
    try:
        fedgate.client.register_run(run_id, account.access_token, federation or None)
    except FedgateError as err:
        # a run Fedgate does not know would be inaccessible (or, worse, someone else's): fail it
        log.error("fedgate: registering run %s failed (%s); marking it failed", run_id, err.code)
        _fail_run(state, runs[0] if runs else None, run_id)
        if isinstance(err, FedgateUnavailable):
            raise unavailable(err) from None
        raise FlowerError(ApiErrorCode.FAILED_TO_CREATE_RUN, f"Fedgate did not register run {run_id} ({err.code})") from None
    log.info("fedgate: run %s registered in %s for %s", run_id, federation, account.flwr_aid)
    return response


def _fail_run(state: Any, run: Any, run_id: int) -> None:
    """Mark a run Fedgate did not register as failed (its primary task finished FAILED)."""
    task_id = getattr(run, "primary_task_id", None)
    if task_id is None or not state.finish_task(task_id, SubStatus.FAILED, "Fedgate did not register the run"):
        state.stop_run(run_id)
