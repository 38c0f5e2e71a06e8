from __future__ import annotations

import ssl
from pathlib import Path
from typing import Tuple

import pytest

from conftest import API_KEY, FakeFedgate, tokens_answer, verify_answer
from fedgate_flower.client import Check, FedgateClient, FedgateError, FedgateUnavailable
from fedgate_flower.config import FedgateSettings, SettingsError, read_key_file


def test_calls_carry_the_api_key_over_verified_tls(fedgate: FakeFedgate) -> None:
    fedgate.on("POST /v1/verify", lambda body, headers: verify_answer("alice"))
    result = FedgateClient(fedgate.settings()).verify("at-1")
    assert result.active and result.account is not None and result.account.flwr_aid == "alice"
    method, path, body, headers = fedgate.requests[-1]
    assert (method, path, body) == ("POST", "/v1/verify", {"access_token": "at-1"})
    assert headers["x-fedgate-key"] == API_KEY
    assert headers["content-type"] == "application/json"


def test_an_untrusted_server_certificate_is_unavailable_not_an_answer(fedgate: FakeFedgate, pki: Tuple[Path, Path, Path], tmp_path: Path) -> None:
    fedgate.answer("POST /v1/check", 200, {"allowed": True, "decision_id": "d1"})
    # the system trust store does not know the throwaway CA
    settings = fedgate.settings(ca_cert=None)
    with pytest.raises(FedgateUnavailable) as err:
        FedgateClient(settings).check("alice", "has_access", "service:superlink")
    assert err.value.code == "fedgate_unreachable"
    assert "SSL" in err.value.description or "CERTIFICATE" in err.value.description.upper()
    assert fedgate.requests == []


def test_error_answers_keep_fedgates_stable_codes(fedgate: FakeFedgate) -> None:
    client = FedgateClient(fedgate.settings())
    fedgate.answer("POST /v1/device/token", 400, {"error": "authorization_pending", "error_description": "wait"})
    with pytest.raises(FedgateError) as pending:
        client.device_token("dc")
    assert (pending.value.code, pending.value.status) == ("authorization_pending", 400)
    assert not isinstance(pending.value, FedgateUnavailable)
    fedgate.answer("POST /v1/check", 503, {"error": "authz_unavailable", "error_description": "OpenFGA down"})
    with pytest.raises(FedgateUnavailable) as down:
        client.check("alice", "has_access", "service:superlink")
    assert down.value.code == "authz_unavailable"


def test_a_wrong_api_key_is_invalid_client(fedgate: FakeFedgate) -> None:
    fedgate.on("POST /v1/verify", lambda body, headers: verify_answer("alice"))
    with pytest.raises(FedgateError) as err:
        FedgateClient(fedgate.settings(api_key="wrong")).verify("at-1")
    assert err.value.code == "invalid_client"


def test_malformed_answers_are_unavailable(fedgate: FakeFedgate) -> None:
    client = FedgateClient(fedgate.settings())
    fedgate.answer("POST /v1/check", 200, {"allowed": "yes"})
    with pytest.raises(FedgateUnavailable):
        client.check("alice", "has_access", "service:superlink")
    fedgate.answer("POST /v1/check", 200, b"<html>")
    with pytest.raises(FedgateUnavailable):
        client.check("alice", "has_access", "service:superlink")
    fedgate.answer("POST /v1/check/batch", 200, {"results": [{"allowed": True}]})
    with pytest.raises(FedgateUnavailable):
        client.check_batch([Check("a", "can_view", "run:1"), Check("a", "can_view", "run:2")])


def test_redirects_are_not_followed(fedgate: FakeFedgate) -> None:
    fedgate.answer("POST /v1/check", 307, {})
    with pytest.raises(FedgateError) as err:
        FedgateClient(fedgate.settings()).check("alice", "has_access", "service:superlink")
    assert err.value.status == 307
    assert len(fedgate.requests) == 1


def test_runs_are_registered_and_listed_with_the_persons_token(fedgate: FakeFedgate) -> None:
    client = FedgateClient(fedgate.settings())
    fedgate.answer("POST /v1/runs", 201, {"run_id": "18446744073709551615", "owner": "alice", "consistency_token": "c"})
    fedgate.answer("GET /v1/runs", 200, {"runs": [{"run_id": "7", "role": "owner"}, {"run_id": 8, "role": "viewer"}, {"role": "x"}]})
    assert client.viewable_runs("bobs-token") == {7: "owner", 8: "viewer"}
    method, path, _, headers = fedgate.requests[-1]
    assert (path, headers["authorization"], headers["x-fedgate-key"]) == ("/v1/runs", "Bearer bobs-token", API_KEY)
    client.register_run(18446744073709551615, "alices-token", "local")
    # the owner is whoever Fedgate finds the token proves: no account is named by the SuperLink
    assert fedgate.calls("POST /v1/runs") == [{"run_id": "18446744073709551615", "access_token": "alices-token", "service": "superlink", "federation": "local"}]
    # read-your-writes: later listings and decisions carry the registration's consistency token
    client.viewable_runs("alices-token")
    assert fedgate.requests[-1][1] == "/v1/runs?consistency_token=c"
    fedgate.answer("POST /v1/authorize", 200, {"allowed": True, "decision_id": "d", "account": {"flwr_aid": "alice", "account_name": "Alice"}})
    client.authorize("alices-token", "can_view", "run:7")
    assert fedgate.calls("POST /v1/authorize")[-1]["consistency_token"] == "c"


def test_authorize_answers_the_decision_and_the_verified_account(fedgate: FakeFedgate) -> None:
    client = FedgateClient(fedgate.settings())
    fedgate.answer("POST /v1/authorize", 200, {"allowed": True, "decision_id": "d1", "account": {"flwr_aid": "alice", "account_name": "Alice"}})
    answer = client.authorize("at", "has_access", "service:superlink")
    assert (answer.allowed, answer.decision_id, answer.account.flwr_aid if answer.account else None) == (True, "d1", "alice")
    assert fedgate.calls("POST /v1/authorize") == [{"access_token": "at", "relation": "has_access", "object": "service:superlink"}]
    fedgate.answer("POST /v1/authorize", 401, {"allowed": False, "error": "revoked_token", "error_description": "logged out"})
    refused = client.authorize("at", "has_access", "service:superlink")
    assert (refused.allowed, refused.account, refused.error) == (False, None, "revoked_token")
    fedgate.answer("POST /v1/authorize", 200, {"allowed": True, "decision_id": "d2"})
    with pytest.raises(FedgateUnavailable):
        client.authorize("at", "has_access", "service:superlink")
    fedgate.answer("POST /v1/authorize", 403, {"error": "forbidden", "error_description": "not this key's service"})
    with pytest.raises(FedgateError) as err:
        client.authorize("at", "has_access", "service:other")
    assert err.value.code == "forbidden"


def test_tokens_and_device_authorization_are_parsed(fedgate: FakeFedgate) -> None:
    client = FedgateClient(fedgate.settings())
    fedgate.answer("POST /v1/token/refresh", 200, tokens_answer("at-2", "rt-2"))
    tokens = client.refresh("rt-1")
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_in) == ("at-2", "rt-2", 300)
    fedgate.answer("POST /v1/device/authorize", 200, {
        "authn_type": "oidc", "device_code": "dc", "user_code": "ABCD-EFGH", "verification_uri": "https://idp/device",
        "verification_uri_complete": "https://idp/device?user_code=ABCD-EFGH", "expires_in": 600, "interval": 5,
    })
    details = client.device_authorize()
    assert (details.device_code, details.verification_uri_complete, details.interval) == ("dc", "https://idp/device?user_code=ABCD-EFGH", 5)


def test_settings_refuse_plain_http_and_missing_keys(fedgate: FakeFedgate) -> None:
    with pytest.raises(SettingsError, match="login_url must be an https"):
        fedgate.settings(login_url="http://127.0.0.1:1")
    with pytest.raises(SettingsError, match="API key is missing"):
        fedgate.settings(api_key="")
    with pytest.raises(SettingsError, match="service_name"):
        fedgate.settings(service_name="a b")


def test_settings_round_trip_through_the_user_auth_yaml_without_the_key(fedgate: FakeFedgate, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    key_file.chmod(0o600)
    settings = fedgate.settings(api_key_file=str(key_file))
    path = tmp_path / "auth.yaml"
    path.write_text(settings.to_user_auth_yaml())
    assert API_KEY not in path.read_text()
    assert FedgateSettings.from_yaml(path, env={}) == settings
    # the key is never taken from the environment: flwr hands its environment to the ServerApp
    path.write_text(settings.to_user_auth_yaml().replace(f"api_key_file: {key_file}", ""))
    with pytest.raises(SettingsError, match="API key"):
        FedgateSettings.from_yaml(path, env={"FEDGATE_API_KEY": API_KEY})
    assert FedgateSettings.from_yaml(path, env={"FEDGATE_API_KEY_FILE": str(key_file)}) == settings
    # flwr 1.23's spelling of the type key is accepted too
    path.write_text(settings.to_user_auth_yaml().replace("auth_type:", "authn_type:"))
    assert FedgateSettings.from_yaml(path, env={}) == settings
    path.write_text(settings.to_user_auth_yaml().replace("auth_type: fedgate", "auth_type: oidc"))
    with pytest.raises(SettingsError, match="must be 'fedgate'"):
        FedgateSettings.from_yaml(path, env={})


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY)
    key_file.chmod(mode)
    with pytest.raises(SettingsError, match="accessible to group or others"):
        read_key_file(str(key_file))
    key_file.chmod(0o600)
    assert read_key_file(str(key_file)) == API_KEY


def test_settings_from_the_stack_file(fedgate: FakeFedgate, tmp_path: Path) -> None:
    import json

    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({
        "services": {"login": "https://127.0.0.1:1", "token": "https://127.0.0.1:2", "authz": "https://127.0.0.1:3", "audit": "https://127.0.0.1:4"},
        "ca_cert": str(fedgate.ca_cert), "api_key": "k", "service_name": "superlink",
    }))
    settings = FedgateSettings.from_stack_file(stack)
    assert (settings.authz_url, settings.service_object, settings.api_key) == ("https://127.0.0.1:3", "service:superlink", "k")
    key_file = tmp_path / "superlink-key"
    key_file.write_text("own-key")
    key_file.chmod(0o600)
    assert FedgateSettings.from_stack_file(stack, str(key_file)).api_key == "own-key"
    stack.write_text("{}")
    with pytest.raises(SettingsError, match="cannot read the stack file"):
        FedgateSettings.from_stack_file(stack)
    ssl.create_default_context(cafile=str(fedgate.ca_cert))  # the CA file is a usable trust anchor
