"""The SuperLink adapter against the real open-source servicer and an in-memory LinkState."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import grpc
import pytest

from conftest import API_KEY, FakeFedgate, metadata, tokens_answer, verify_answer
from fedgate_flower import core
from fedgate_flower.compat import LEGACY, band_of, installed_flwr_version

if band_of(installed_flwr_version() or "0.0") is not LEGACY:
    pytest.skip(f"flwr {installed_flwr_version()} is in the federation band: see test_federation_band.py", allow_module_level=True)

from fedgate_flower import superlink_adapter as adapter  # noqa: E402

from flwr.common.typing import AccountInfo  # noqa: E402
from flwr.proto.control_pb2 import ListRunsRequest, StopRunRequest, StreamLogsRequest  # noqa: E402
try:  # the in-memory LinkState's name: 1.23 ":flwr-in-memory:", 1.22 ":flwr-in-memory-state:"
    from flwr.supercore.constant import FLWR_IN_MEMORY_DB_NAME as IN_MEMORY_DATABASE
except ImportError:
    from flwr.server.app import DATABASE as IN_MEMORY_DATABASE  # noqa: E402
from flwr.server.superlink.linkstate import LinkStateFactory  # noqa: E402
from flwr.superlink.servicer.control import control_servicer as upstream  # noqa: E402
shared_account_info = adapter.shared_account_info
from flwr.supercore.ffs import FfsFactory  # noqa: E402
from flwr.supercore.object_store import ObjectStoreFactory  # noqa: E402


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code
        self.details = details


class FakeContext:
    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)

    def is_active(self) -> bool:
        return False


@pytest.fixture
def config_path(fedgate: FakeFedgate, tmp_path: Path) -> Path:
    key_file = tmp_path / "fedgate-api-key"
    key_file.write_text(API_KEY)
    key_file.chmod(0o600)
    path = tmp_path / "user-auth.yaml"
    path.write_text(fedgate.settings(api_key_file=str(key_file)).to_user_auth_yaml())
    adapter._clients.clear()
    return path


@pytest.fixture
def servicer(config_path: Path, tmp_path: Path) -> Iterator[Any]:
    adapter.install()
    plugin = adapter.FedgateAuthPlugin(config_path, verify_tls_cert=True)
    plugin_argument = "authn_plugin" if adapter.FLWR_LINE >= (1, 23) else "auth_plugin"
    yield adapter.FedgateControlServicer(
        linkstate_factory=LinkStateFactory(IN_MEMORY_DATABASE),
        ffs_factory=FfsFactory(str(tmp_path / "ffs")),
        objectstore_factory=ObjectStoreFactory(),
        is_simulation=False,
        **{plugin_argument: plugin},
    )


def _run(servicer: Any, owner: str) -> int:
    state = servicer.linkstate_factory.state()
    return int(state.create_run("fedgate/app", "1.0.0", "hash", {}, {}, owner))


def _as(flwr_aid: str) -> None:
    """What the interceptor leaves for the servicer: the account, and (in Fedgate's authn
    plugin) the token it verified for that account in this call."""
    shared_account_info.set(AccountInfo(flwr_aid=flwr_aid, account_name=flwr_aid))
    core._verified_token.set(f"token-of-{flwr_aid}")


def _authorize_answer(allowed: bool, flwr_aid: str, decision_id: str = "d") -> Tuple[int, Any]:
    return 200, {"allowed": allowed, "decision_id": decision_id, "account": {"flwr_aid": flwr_aid, "account_name": flwr_aid}}


def test_login_details_are_oidc_so_the_flwr_cli_drives_the_device_flow(fedgate: FakeFedgate, config_path: Path) -> None:
    fedgate.answer("POST /v1/device/authorize", 200, {
        "authn_type": "oidc", "device_code": "dc", "user_code": "ABCD-EFGH", "verification_uri": "https://idp/device",
        "verification_uri_complete": "https://idp/device?user_code=ABCD-EFGH", "expires_in": 600, "interval": 2,
    })
    details = adapter.FedgateAuthPlugin(config_path, True).get_login_details()
    assert details is not None
    assert (getattr(details, "authn_type", None) or details.auth_type, details.device_code, details.verification_uri_complete, details.expires_in, details.interval) == (
        "oidc", "dc", "https://idp/device?user_code=ABCD-EFGH", 600, 2)
    fedgate.answer("POST /v1/device/authorize", 503, {"error": "idp_unavailable"})
    assert adapter.FedgateAuthPlugin(config_path, True).get_login_details() is None


def test_refreshed_tokens_go_back_under_the_cli_plugins_metadata_keys(fedgate: FakeFedgate, config_path: Path) -> None:
    fedgate.on("POST /v1/verify", lambda body, _: verify_answer("alice") if body["access_token"] == "at-2" else verify_answer(active=False))
    fedgate.answer("POST /v1/token/refresh", 200, tokens_answer("at-2", "rt-2"))
    plugin = adapter.FedgateAuthPlugin(config_path, True)
    assert plugin.validate_tokens_in_metadata(metadata()) == (False, None)
    new_metadata, account = plugin.refresh_tokens(metadata())
    assert list(new_metadata or []) == [("flwr-oidc-access-token", "at-2"), ("flwr-oidc-refresh-token", "rt-2")]
    assert account == AccountInfo(flwr_aid="alice", account_name="alice-name")


def test_authorization_is_has_access_for_the_token_verified_in_the_same_call(fedgate: FakeFedgate, config_path: Path) -> None:
    owners = {"at-bob": "bob", "at-carol": "carol"}
    fedgate.on("POST /v1/verify", lambda body, _: verify_answer(owners[body["access_token"]]))
    fedgate.on("POST /v1/authorize", lambda body, _: _authorize_answer(owners[body["access_token"]] == "bob", owners[body["access_token"]]))
    authn = adapter.FedgateAuthPlugin(config_path, True)
    plugin = adapter.FedgateAuthzPlugin(config_path, True)
    for decide in (plugin.verify_user_authorization, plugin.authorize):  # the 1.22 and 1.23 names
        for token, flwr_aid, allowed in (("at-bob", "bob", True), ("at-carol", "carol", False)):
            # the interceptor: authentication, then authorization, in one call
            assert authn.validate_tokens_in_metadata([("flwr-oidc-access-token", token)])[0] is True
            assert decide(AccountInfo(flwr_aid=flwr_aid, account_name=flwr_aid)) is allowed
        # an account other than the one the call's token proves is denied
        authn.validate_tokens_in_metadata([("flwr-oidc-access-token", "at-bob")])
        assert decide(AccountInfo(flwr_aid="carol", account_name="carol")) is False
    assert {c["object"] for c in fedgate.calls("POST /v1/authorize")} == {"service:superlink"}
    # without a verified token in the call (no authentication step), nothing is asked: deny
    core._verified_token.set(None)
    calls = len(fedgate.calls("POST /v1/authorize"))
    assert plugin.authorize(AccountInfo(flwr_aid="bob", account_name="bob")) is False
    assert len(fedgate.calls("POST /v1/authorize")) == calls


def test_listing_shows_the_runs_fedgate_lets_the_caller_view(fedgate: FakeFedgate, servicer: Any) -> None:
    alice_run, bob_run, other_run = _run(servicer, "alice"), _run(servicer, "bob"), _run(servicer, "alice")
    # authz-service: bob owns his run and was shared alice's first one; it also names a run this SuperLink does not have
    fedgate.answer("GET /v1/runs", 200, {"runs": [{"run_id": str(bob_run), "role": "owner"}, {"run_id": str(alice_run), "role": "viewer"}, {"run_id": "999", "role": "owner"}]})
    fedgate.on("POST /v1/check/batch", lambda body, _: (200, {"results": [{"allowed": True, "decision_id": f"d{i}"} for i, _ in enumerate(body["checks"])]}))
    _as("bob")
    response = servicer.ListRuns(ListRunsRequest(), FakeContext())
    assert set(response.run_dict) == {alice_run, bob_run}
    assert other_run not in response.run_dict
    assert (fedgate.requests[0][1], fedgate.requests[0][3]["authorization"]) == ("/v1/runs", "Bearer token-of-bob")
    assert sorted(c["object"] for c in fedgate.calls("POST /v1/check/batch")[0]["checks"]) == sorted([f"run:{alice_run}", f"run:{bob_run}"])


def test_a_run_the_batch_check_denies_is_not_listed(fedgate: FakeFedgate, servicer: Any) -> None:
    run = _run(servicer, "alice")
    fedgate.answer("GET /v1/runs", 200, {"runs": [{"run_id": str(run), "role": "viewer"}]})
    fedgate.answer("POST /v1/check/batch", 200, {"results": [{"allowed": False, "decision_id": "d"}]})
    _as("bob")
    assert set(servicer.ListRuns(ListRunsRequest(), FakeContext()).run_dict) == set()


def test_listing_fails_closed_when_fedgate_cannot_answer(fedgate: FakeFedgate, servicer: Any) -> None:
    _run(servicer, "bob")
    fedgate.answer("GET /v1/runs", 503, {"error": "authz_unavailable"})
    _as("bob")
    with pytest.raises(Aborted) as err:
        servicer.ListRuns(ListRunsRequest(), FakeContext())
    assert err.value.code == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("allowed", [True, False])
def test_stop_is_the_can_stop_decision_not_owner_equality(fedgate: FakeFedgate, servicer: Any, allowed: bool) -> None:
    run = _run(servicer, "alice")
    fedgate.answer("POST /v1/authorize", *_authorize_answer(allowed, "bob", "dec-1"))
    _as("bob")
    if allowed:
        assert servicer.StopRun(StopRunRequest(run_id=run), FakeContext()).success is True
    else:
        with pytest.raises(Aborted) as err:
            servicer.StopRun(StopRunRequest(run_id=run), FakeContext())
        assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert "can_stop denied, decision dec-1" in err.value.details
    assert fedgate.calls("POST /v1/authorize") == [{"access_token": "token-of-bob", "relation": "can_stop", "object": f"run:{run}"}]


def test_owner_access_is_also_a_fedgate_decision(fedgate: FakeFedgate, servicer: Any) -> None:
    run = _run(servicer, "alice")
    fedgate.answer("POST /v1/authorize", *_authorize_answer(False, "alice"))
    _as("alice")  # the SuperLink's own record says alice owns it; Fedgate says no (e.g. access revoked)
    with pytest.raises(Aborted):
        servicer.ListRuns(ListRunsRequest(run_id=run), FakeContext())
    assert fedgate.calls("POST /v1/authorize")[0]["relation"] == "can_view"


def test_logs_are_the_can_read_logs_decision(fedgate: FakeFedgate, servicer: Any) -> None:
    run = _run(servicer, "alice")
    fedgate.answer("POST /v1/authorize", *_authorize_answer(False, "bob"))
    _as("bob")
    with pytest.raises(Aborted) as err:
        list(servicer.StreamLogs(StreamLogsRequest(run_id=run), FakeContext()))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert fedgate.calls("POST /v1/authorize") == [{"access_token": "token-of-bob", "relation": "can_read_logs", "object": f"run:{run}"}]


def test_an_unrouted_ownership_check_denies(servicer: Any) -> None:
    run = servicer.linkstate_factory.state().get_run(_run(servicer, "alice"))
    with pytest.raises(Aborted) as err:
        upstream._check_flwr_aid_in_run(flwr_aid="alice", run=run, context=FakeContext())
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_install_registers_the_plugins_by_type_name() -> None:
    import flwr.server.app as server_app
    from flwr.superlink.servicer.control import control_grpc

    adapter.install()
    assert server_app.get_control_authn_plugins()["fedgate"] is adapter.FedgateAuthPlugin if adapter.FLWR_LINE >= (1, 23) else server_app.get_control_auth_plugins() == {"fedgate": adapter.FedgateAuthPlugin}
    assert server_app.get_control_authz_plugins()["fedgate"] is adapter.FedgateAuthzPlugin
    assert control_grpc.ControlServicer is adapter.FedgateControlServicer
    args = server_app._parse_args_run_superlink().parse_args([adapter.AUTH_CONFIG_FLAG, "x.yaml"])
    config = args.account_auth_config if adapter.FLWR_LINE >= (1, 23) else args.user_auth_config
    assert (config, args.enable_event_log) == ("x.yaml", False)
