"""flwr 1.34+ (the FEDERATION band): flwr.ee, the FederationManager and the run relations,
against the installed flwr's real control handlers and an in-memory LinkState.

Runs in the venv of a FEDERATION-band flwr (scripts/infra/flwr.sh pytest, FLWR_VERSION);
the LEGACY band's adapter has its own module (test_superlink_adapter.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from conftest import API_KEY, FakeFedgate, verify_answer
from fedgate_flower.compat import FEDERATION, band_of, installed_flwr_version

if band_of(installed_flwr_version() or "0.0") is not FEDERATION:
    pytest.skip(f"flwr {installed_flwr_version()} is in the legacy band: see test_superlink_adapter.py", allow_module_level=True)

from flwr.proto.control_pb2 import ListRunsRequest, PullArtifactsRequest, StopRunRequest, StreamLogsRequest  # noqa: E402
from flwr.server.superlink.linkstate import LinkStateFactory  # noqa: E402
from flwr.supercore.constant import FLWR_IN_MEMORY_DB_NAME, NOOP_FEDERATION_ID, ActionType  # noqa: E402
from flwr.supercore.error import ApiErrorCode, EntitlementError, FlowerError  # noqa: E402
from flwr.supercore.object_store import ObjectStoreFactory  # noqa: E402

from fedgate_flower import ee  # noqa: E402
from fedgate_flower.client import FedgateClient  # noqa: E402
from fedgate_flower.ee_imports import scan_flwr_source, unique  # noqa: E402
from fedgate_flower.federation_manager import (  # noqa: E402
    ACTION_RELATIONS,
    Fedgate,
    FedgateAccountInfo,
    FedgateAuthnPlugin,
    FedgateFederationManager,
    _current,
    route_run_access,
)

SRC = Path(__file__).resolve().parents[1] / "src"
TOKENS = {"tok-alice": "alice", "tok-bob": "bob", "tok-carol": "carol"}
Decisions = List[Tuple[str, str, str, bool]]


class Authz:
    """The authz side of the stand-in: who has access, who may do what on which run."""

    def __init__(self, fake: FakeFedgate) -> None:
        self.members = {"alice", "bob"}
        self.admins = {"alice"}
        self.runs: Dict[str, Dict[str, str]] = {}  # run id -> flwr_aid -> role
        self.registered: List[Dict[str, Any]] = []
        self.decisions: Decisions = []
        fake.on("POST /v1/authorize", self.authorize)
        fake.on("POST /v1/runs", self.register)
        fake.on("GET /v1/runs", self.list)

    def _person(self, token: str) -> str:
        return TOKENS.get(token, "")

    def authorize(self, body: Dict[str, Any], _headers: Dict[str, str]) -> Tuple[int, Any]:
        who = self._person(body.get("access_token", ""))
        if not who:
            return 401, {"allowed": False, "error": "invalid_token"}
        relation, object_ = body["relation"], body["object"]
        if object_ == "service:superlink":
            allowed = who in self.admins if relation == "admin" else who in self.members
        else:
            role = self.runs.get(object_.split(":", 1)[1], {}).get(who)
            allowed = role == "owner" or (role == "viewer" and relation in ("can_view", "can_read_logs", "can_pull_artifacts"))
        self.decisions.append((who, relation, object_, allowed))
        return 200, {"allowed": allowed, "decision_id": f"d{len(self.decisions)}", "account": {"flwr_aid": who, "account_name": f"{who}-name"}}

    def register(self, body: Dict[str, Any], _headers: Dict[str, str]) -> Tuple[int, Any]:
        who = self._person(body.get("access_token", ""))
        self.registered.append(body)
        self.runs[body["run_id"]] = {who: "owner"}
        return 201, {"run_id": body["run_id"], "owner": who, "consistency_token": "c1"}

    def list(self, _body: Dict[str, Any], headers: Dict[str, str]) -> Tuple[int, Any]:
        who = self._person(headers.get("authorization", "").removeprefix("Bearer "))
        return 200, {"runs": [{"run_id": run_id, "role": roles[who]} for run_id, roles in self.runs.items() if who in roles]}


@pytest.fixture
def authz(fedgate: FakeFedgate) -> Authz:
    return Authz(fedgate)


@pytest.fixture
def gate(fedgate: FakeFedgate, authz: Authz) -> Iterator[Fedgate]:
    from flwr.superlink.servicer.control import control_handlers

    gate = Fedgate(FedgateClient(fedgate.settings()), [])
    route_run_access(control_handlers, gate)
    FedgateAuthnPlugin.fedgate = gate
    yield gate


@pytest.fixture
def state(gate: Fedgate) -> Any:
    manager = FedgateFederationManager(gate)
    factory = LinkStateFactory(FLWR_IN_MEMORY_DB_NAME, manager, ObjectStoreFactory(FLWR_IN_MEMORY_DB_NAME))
    return factory.state()


def person(name: str) -> FedgateAccountInfo:
    return FedgateAccountInfo(flwr_aid=name, account_name=name, access_token=f"tok-{name}")


def run_of(state: Any, owner: str, authz: Authz) -> int:
    run_id = int(state.create_run("fedgate/e2e", "1.0.0", "hash", {}, NOOP_FEDERATION_ID, None, owner, "serverapp"))
    authz.runs[str(run_id)] = {owner: "owner"}
    return run_id


def handlers() -> Any:
    from flwr.superlink.servicer.control import control_handlers

    return control_handlers


# ---- flwr.ee -----------------------------------------------------------------------------------


def test_every_name_the_installed_flwr_imports_from_flwr_ee_is_provided() -> None:
    modules = ee.build(*ee.hooks(FedgateAuthnPlugin, lambda: None, lambda ids: {}))
    imports = scan_flwr_source(ee.flwr_root())
    assert "flwr.ee:get_ee_federation_manager" in unique(imports)
    assert "flwr.ee:get_control_authn_ee_plugins" in unique(imports)
    assert ee.missing_names(imports, modules) == []


def test_a_name_the_launcher_does_not_provide_refuses_the_start(tmp_path: Path) -> None:
    root = tmp_path / "flwr"
    (root / "superlink").mkdir(parents=True)
    (root / "superlink" / "newer.py").write_text("try:\n    from flwr.ee import get_brand_new_hook\nexcept ImportError:\n    pass\n")
    modules = ee.build(*ee.hooks(FedgateAuthnPlugin, lambda: None, lambda ids: {}))
    with pytest.raises(ee.EeRefused, match=r"flwr.ee:get_brand_new_hook \(flwr/superlink/newer.py:2\)"):
        ee.install(modules, root)
    assert "flwr.ee" not in sys.modules or getattr(sys.modules["flwr.ee"], "__fedgate__", False)


def test_flowers_own_enterprise_package_refuses_the_start(tmp_path: Path) -> None:
    root = tmp_path / "flwr"
    (root / "ee").mkdir(parents=True)
    (root / "ee" / "__init__.py").write_text("")
    modules = ee.build(*ee.hooks(FedgateAuthnPlugin, lambda: None, lambda ids: {}))
    with pytest.raises(ee.EeRefused, match="enterprise package is installed"):
        ee.install(modules, root)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})


def test_in_a_fresh_process_flwr_binds_fedgates_hooks_and_writes_nothing_to_site_packages() -> None:
    result = _python(
        """
        import os, sys
        from fedgate_flower import ee
        from fedgate_flower.federation_manager import FedgateAuthnPlugin
        before = sorted(os.listdir(ee.flwr_root()))
        modules = ee.build(*ee.hooks(FedgateAuthnPlugin, lambda: "manager", lambda ids: {i: i for i in ids}))
        imports = ee.install(modules)
        ee.verify_bound(modules, imports)
        from flwr.superlink import config_loader
        from flwr.supercore.utils import resolve_account_ids
        assert config_loader.get_control_authn_plugins()["oidc"] is FedgateAuthnPlugin
        assert config_loader.get_federation_manager() == "manager"
        assert resolve_account_ids({"alice"}) == {"alice": "alice"}
        assert sorted(os.listdir(ee.flwr_root())) == before
        print("bound", len(imports))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("bound ")


def test_flwr_modules_imported_before_flwr_ee_refuse_the_start() -> None:
    result = _python(
        """
        import flwr.superlink.config_loader
        from fedgate_flower import ee
        from fedgate_flower.federation_manager import FedgateAuthnPlugin
        try:
            ee.install(ee.build(*ee.hooks(FedgateAuthnPlugin, lambda: None, lambda ids: {})))
        except ee.EeRefused as err:
            print("refused:", err)
        """
    )
    assert "refused: flwr modules that import flwr.ee were imported before it was provided (flwr.superlink.config_loader" in result.stdout, result.stderr


# ---- FederationManager -------------------------------------------------------------------------


def test_has_member_is_has_access_asked_with_the_persons_token(gate: Fedgate, authz: Authz, fedgate: FakeFedgate) -> None:
    manager = FedgateFederationManager(gate)
    for who, expected in (("alice", True), ("bob", True), ("carol", False)):
        marker = _current.set(person(who))
        try:
            assert manager.has_member(who, NOOP_FEDERATION_ID) is expected
            # never answers for anyone but the caller, and never for an unknown federation
            assert manager.has_member("alice" if who != "alice" else "bob", NOOP_FEDERATION_ID) is False
            assert manager.has_member(who, "@someone/else") is False
        finally:
            _current.reset(marker)
    assert [d[:3] for d in authz.decisions] == [(w, "has_access", "service:superlink") for w in ("alice", "bob", "carol")]
    assert all(call["access_token"] == f"tok-{d[0]}" for call, d in zip(fedgate.calls("POST /v1/authorize"), authz.decisions))
    assert manager.has_member("alice", NOOP_FEDERATION_ID) is False, "no call context: no token, no membership"


def test_can_execute_maps_every_flower_action(gate: Fedgate, authz: Authz) -> None:
    assert set(ACTION_RELATIONS) == {a.value for a in ActionType}, "a new Flower action must be mapped"
    manager = FedgateFederationManager(gate)
    marker = _current.set(person("bob"))
    try:
        manager.can_execute("bob", ActionType.START_RUN, None)
        with pytest.raises(EntitlementError, match="admin"):
            manager.can_execute("bob", ActionType.REGISTER_SUPERNODE, None)
        for action in (ActionType.CREATE_FEDERATION, ActionType.CREATE_INVITATION, ActionType.ACCEPT_INVITATION):
            with pytest.raises(EntitlementError):
                manager.can_execute("bob", action, None)
    finally:
        _current.reset(marker)
    assert [d[1] for d in authz.decisions] == ["has_access", "admin"]


def test_fedgate_down_is_a_refusal_never_an_allow(gate: Fedgate, fedgate: FakeFedgate) -> None:
    fedgate.answer("POST /v1/authorize", 503, {"error": "authz_unavailable"})
    manager = FedgateFederationManager(gate)
    marker = _current.set(person("alice"))
    try:
        with pytest.raises(EntitlementError) as err:
            manager.has_member("alice", NOOP_FEDERATION_ID)
        assert "cannot authorize" in str(err.value.public_details)
    finally:
        _current.reset(marker)


# ---- run relations through the real control handlers --------------------------------------------


def test_ls_lists_only_the_runs_the_person_may_view(state: Any, authz: Authz) -> None:
    alices = run_of(state, "alice", authz)
    bobs = run_of(state, "bob", authz)
    listed = handlers().list_runs(ListRunsRequest(), person("alice"), state)
    assert set(listed.run_dict) == {alices}
    assert listed.run_dict[alices].flwr_aid == "alice"
    assert set(handlers().list_runs(ListRunsRequest(), person("bob"), state).run_dict) == {bobs}
    assert ("alice", "can_view", f"run:{alices}", True) in authz.decisions
    # shared with bob as viewer: now he sees it, with its owner's name
    authz.runs[str(alices)]["bob"] = "viewer"
    listed = handlers().list_runs(ListRunsRequest(), person("bob"), state)
    assert set(listed.run_dict) == {alices, bobs}
    assert listed.run_dict[alices].account_name == "alice-name"


def test_carol_without_access_gets_flowers_not_found(state: Any, authz: Authz) -> None:
    run_of(state, "alice", authz)
    with pytest.raises(FlowerError) as err:
        handlers().list_runs(ListRunsRequest(), person("carol"), state)
    assert err.value.code == ApiErrorCode.FEDERATION_NOT_FOUND_OR_NO_PERMISSION
    assert ("carol", "has_access", "service:superlink", False) in authz.decisions
    run_id = run_of(state, "alice", authz)
    for handler, request in ((handlers().stop_run, StopRunRequest(run_id=run_id)), (handlers().list_runs, ListRunsRequest(run_id=run_id))):
        with pytest.raises(FlowerError) as err:
            handler(request, person("carol"), state)
        assert err.value.code == ApiErrorCode.FEDERATION_NOT_FOUND_OR_NO_PERMISSION, "Flower's own not-found, nothing about the run"
    assert not any(d[0] == "carol" and d[2].startswith("run:") for d in authz.decisions)


def test_bob_can_neither_stop_nor_read_nor_see_alices_run(state: Any, authz: Authz) -> None:
    run_id = run_of(state, "alice", authz)
    calls = [
        (handlers().stop_run, StopRunRequest(run_id=run_id), "can_stop"),
        (handlers().stream_logs, StreamLogsRequest(run_id=run_id), "can_read_logs"),
        (handlers().list_runs, ListRunsRequest(run_id=run_id), "can_view"),
    ]
    for handler, request, relation in calls:
        with pytest.raises(FlowerError) as err:
            handler(request, person("bob"), state)
        assert err.value.code == ApiErrorCode.RUN_ID_NOT_BELONG_TO_ACCOUNT
        assert f"{relation} denied" in str(err.value.public_details)
        assert ("bob", relation, f"run:{run_id}", False) in authz.decisions
    assert state.get_run_info(run_ids=[run_id])[0].status.status != "finished", "nothing changed"
    # alice may stop her own run
    assert handlers().stop_run(StopRunRequest(run_id=run_id), person("alice"), state).success


def test_a_viewer_may_pull_artifacts_but_not_stop(state: Any, authz: Authz) -> None:
    run_id = run_of(state, "alice", authz)
    authz.runs[str(run_id)]["bob"] = "viewer"

    class Provider:
        def get_url(self, run_id: int) -> str:
            return f"https://artifacts/{run_id}"

    with pytest.raises(FlowerError, match="can_stop"):
        handlers().stop_run(StopRunRequest(run_id=run_id), person("bob"), state)
    assert handlers().stop_run(StopRunRequest(run_id=run_id), person("alice"), state).success
    answer = handlers().pull_artifacts(PullArtifactsRequest(run_id=run_id), person("bob"), state, Provider())
    assert answer.url == f"https://artifacts/{run_id}"
    # Flower's owner-equality guard alone (not through Fedgate) refuses
    run = state.get_run_info(run_ids=[run_id])[0]
    with pytest.raises(FlowerError):
        handlers()._check_flwr_aid_in_run(flwr_aid="alice", run=run)


def test_start_run_registers_the_run_with_its_federation_and_the_persons_token(state: Any, authz: Authz, fedgate: FakeFedgate) -> None:
    from flwr.proto.control_pb2 import StartRunRequest, StartRunResponse
    from fedgate_flower import federation_manager as fm

    def original(request: Any, account: Any, st: Any, *args: Any, **kwargs: Any) -> Any:
        return StartRunResponse(run_id=int(st.create_run("fedgate/e2e", "1.0.0", "h", {}, NOOP_FEDERATION_ID, None, account.flwr_aid, "serverapp")))

    start = fm._with_account(lambda request, account, st: fm._start_run(original, request, account, st))
    run_id = start(StartRunRequest(), person("alice"), state).run_id
    assert fedgate.calls("POST /v1/runs") == [{"run_id": str(run_id), "access_token": "tok-alice", "service": "superlink", "federation": NOOP_FEDERATION_ID}]

    fedgate.answer("POST /v1/runs", 409, {"error": "run_exists", "error_description": "taken"})
    created: List[int] = []
    recording = lambda request, account, st: created.append(original(request, account, st).run_id) or StartRunResponse(run_id=created[-1])  # noqa: E731
    with pytest.raises(FlowerError):
        fm._with_account(lambda request, account, st: fm._start_run(recording, request, account, st))(StartRunRequest(), person("bob"), state)
    status = state.get_run_info(run_ids=[created[0]])[0].status
    assert (status.status, status.sub_status) == ("finished", "failed"), "an unregistered run is failed, never left open"


def test_the_authn_plugin_returns_the_account_with_its_token(gate: Fedgate, fedgate: FakeFedgate) -> None:
    fedgate.on("POST /v1/verify", lambda body, _h: verify_answer("alice"))
    plugin = FedgateAuthnPlugin()
    ok, account = plugin.validate_tokens_in_metadata([("flwr-oidc-access-token", "tok-alice")])
    assert ok and isinstance(account, FedgateAccountInfo)
    assert (account.flwr_aid, account.access_token) == ("alice", "tok-alice")
    assert "tok-alice" not in repr(account), "the token is never printed"
    fedgate.on("POST /v1/verify", lambda body, _h: verify_answer(active=False))
    assert plugin.validate_tokens_in_metadata([("flwr-oidc-access-token", "expired")]) == (False, None)
    assert API_KEY not in repr(plugin.__dict__)


def test_check_config_checks_the_installed_flwrs_interface(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fedgate_flower import launcher

    key = tmp_path / "key"
    key.write_text("k")
    key.chmod(0o600)
    argv = ["--login-url", "https://login:1", "--token-url", "https://token:2", "--authz-url", "https://authz:3", "--api-key-file", str(key), "--check-config"]
    launcher.main(argv)  # the real flwr 1.42: conforming
    fake = tmp_path / "flwr"
    (fake / "superlink").mkdir(parents=True)
    (fake / "superlink" / "config_loader.py").write_text("from flwr.ee import get_something_else\n")
    monkeypatch.setattr(ee, "flwr_root", lambda: fake)
    with pytest.raises(SystemExit) as err:
        launcher.main(argv)
    assert "flwr.ee:get_something_else" in str(err.value.code)
    assert "FLWR_OIDC_ENABLED" in str(err.value.code)
