from __future__ import annotations

import ssl
from pathlib import Path
from typing import Tuple

import pytest

from conftest import API_KEY, FakeFedgate, tokens_answer, verify_answer
from fedgate_flower.client import Check, FedgateClient, FedgateError, FedgateUnavailable
from fedgate_flower.config import FedgateSettings, SettingsError


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


def test_runs_are_registered_and_listed_with_string_ids(fedgate: FakeFedgate) -> None:
    client = FedgateClient(fedgate.settings())
    fedgate.answer("POST /v1/runs", 201, {"run_id": "18446744073709551615", "owner": "alice", "consistency_token": "c"})
    fedgate.answer("GET /v1/runs", 200, {"runs": [{"run_id": "7", "role": "owner"}, {"run_id": 8, "role": "viewer"}, {"role": "x"}]})
    assert client.viewable_runs("bob@example.com") == {7: "owner", 8: "viewer"}
    assert fedgate.requests[-1][1] == "/v1/runs?flwr_aid=bob%40example.com"
    client.register_run(18446744073709551615, "alice")
    assert fedgate.calls("POST /v1/runs") == [{"run_id": "18446744073709551615", "flwr_aid": "alice", "service": "superlink"}]
    # read-your-writes: later listings and checks carry the registration's consistency token
    client.viewable_runs("alice")
    assert fedgate.requests[-1][1] == "/v1/runs?flwr_aid=alice&consistency_token=c"
    fedgate.answer("POST /v1/check", 200, {"allowed": True, "decision_id": "d"})
    client.check("alice", "can_view", "run:7")
    assert fedgate.calls("POST /v1/check")[-1]["consistency_token"] == "c"


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
    settings = fedgate.settings()
    path = tmp_path / "auth.yaml"
    path.write_text(settings.to_user_auth_yaml())
    assert API_KEY not in path.read_text()
    with pytest.raises(SettingsError, match="API key"):
        FedgateSettings.from_yaml(path, env={})
    assert FedgateSettings.from_yaml(path, env={"FEDGATE_API_KEY": API_KEY}) == settings
    # flwr 1.23's spelling of the type key is accepted too
    path.write_text(settings.to_user_auth_yaml().replace("auth_type:", "authn_type:"))
    assert FedgateSettings.from_yaml(path, env={"FEDGATE_API_KEY": API_KEY}) == settings
    path.write_text(settings.to_user_auth_yaml().replace("auth_type: fedgate", "auth_type: oidc"))
    with pytest.raises(SettingsError, match="must be 'fedgate'"):
        FedgateSettings.from_yaml(path, env={"FEDGATE_API_KEY": API_KEY})
    path.write_text(settings.to_user_auth_yaml())
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    assert FedgateSettings.from_yaml(path, env={"FEDGATE_API_KEY_FILE": str(key_file)}) == settings


def test_settings_from_the_stack_file(fedgate: FakeFedgate, tmp_path: Path) -> None:
    import json

    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({
        "services": {"login": "https://127.0.0.1:1", "token": "https://127.0.0.1:2", "authz": "https://127.0.0.1:3", "audit": "https://127.0.0.1:4"},
        "ca_cert": str(fedgate.ca_cert), "api_key": "k", "service_name": "superlink",
    }))
    settings = FedgateSettings.from_stack_file(stack)
    assert (settings.authz_url, settings.service_object, settings.api_key) == ("https://127.0.0.1:3", "service:superlink", "k")
    stack.write_text("{}")
    with pytest.raises(SettingsError, match="cannot read the stack file"):
        FedgateSettings.from_stack_file(stack)
    ssl.create_default_context(cafile=str(fedgate.ca_cert))  # the CA file is a usable trust anchor
