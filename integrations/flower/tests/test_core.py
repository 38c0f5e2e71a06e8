from __future__ import annotations

from conftest import FakeFedgate, metadata, tokens_answer, verify_answer
from fedgate_flower.client import FedgateClient
from fedgate_flower.core import FedgateAuthn, FedgateAuthz


def test_a_valid_access_token_is_the_account_token_service_names(fedgate: FakeFedgate) -> None:
    fedgate.on("POST /v1/verify", lambda body, _: verify_answer("alice") if body["access_token"] == "at-1" else verify_answer(active=False))
    authn = FedgateAuthn(FedgateClient(fedgate.settings()))
    account = authn.validate(metadata())
    assert account is not None and (account.flwr_aid, account.account_name) == ("alice", "alice-name")
    assert authn.validate(metadata(access="other")) is None
    assert authn.validate(metadata(access=None)) is None


def test_an_expired_token_is_refreshed_and_the_new_token_verified(fedgate: FakeFedgate) -> None:
    fedgate.on("POST /v1/verify", lambda body, _: verify_answer("alice") if body["access_token"] == "at-2" else verify_answer(active=False))
    fedgate.on("POST /v1/token/refresh", lambda body, _: (200, tokens_answer("at-2", "rt-2")) if body["refresh_token"] == "rt-1" else (400, {"error": "invalid_grant"}))
    authn = FedgateAuthn(FedgateClient(fedgate.settings()))
    assert authn.validate(metadata()) is None
    refreshed = authn.refresh(metadata())
    assert refreshed is not None
    assert (refreshed.tokens.access_token, refreshed.tokens.refresh_token, refreshed.account.flwr_aid) == ("at-2", "rt-2", "alice")
    assert [b["access_token"] for b in fedgate.calls("POST /v1/verify")] == ["at-1", "at-2"]
    assert authn.refresh(metadata(refresh="revoked")) is None


def test_a_token_service_outage_denies_without_refreshing(fedgate: FakeFedgate) -> None:
    fedgate.answer("POST /v1/verify", 503, {"error": "token_unavailable"})
    fedgate.answer("POST /v1/token/refresh", 200, tokens_answer("at-2", "rt-2"))
    authn = FedgateAuthn(FedgateClient(fedgate.settings()))
    assert authn.validate(metadata()) is None
    assert authn.refresh(metadata()) is None
    assert fedgate.calls("POST /v1/token/refresh") == []


def test_a_refreshed_token_that_does_not_verify_is_refused(fedgate: FakeFedgate) -> None:
    fedgate.on("POST /v1/verify", lambda body, _: verify_answer(active=False))
    fedgate.answer("POST /v1/token/refresh", 200, tokens_answer("at-2", "rt-2"))
    authn = FedgateAuthn(FedgateClient(fedgate.settings()))
    assert authn.validate(metadata()) is None
    assert authn.refresh(metadata()) is None


def test_device_polling_keeps_going_while_pending_and_yields_tokens_once_approved(fedgate: FakeFedgate) -> None:
    answers = iter([(400, {"error": "authorization_pending"}), (400, {"error": "slow_down"}), (200, tokens_answer())])
    fedgate.on("POST /v1/device/token", lambda body, _: next(answers))
    authn = FedgateAuthn(FedgateClient(fedgate.settings()))
    assert authn.poll_tokens("dc") is None
    assert authn.poll_tokens("dc") is None
    tokens = authn.poll_tokens("dc")
    assert tokens is not None and tokens.access_token == "at-1"
    assert authn.poll_tokens("") is None
    fedgate.answer("POST /v1/device/token", 400, {"error": "access_denied"})
    assert authn.poll_tokens("dc") is None


def test_has_access_is_an_authorize_call_with_the_calls_verified_token_and_fails_closed(fedgate: FakeFedgate) -> None:
    owners = {"at-alice": "alice", "at-carol": "carol"}
    fedgate.on("POST /v1/verify", lambda body, _: verify_answer(owners[body["access_token"]]))
    fedgate.on("POST /v1/authorize", lambda body, _: (200, {"allowed": owners[body["access_token"]] == "alice", "decision_id": "d", "account": {"flwr_aid": owners[body["access_token"]], "account_name": "x"}}))
    client = FedgateClient(fedgate.settings())
    authn, authz = FedgateAuthn(client), FedgateAuthz(client)
    assert authz.has_access("alice") is False, "no token verified in this call: deny without asking"
    assert fedgate.calls("POST /v1/authorize") == []
    authn.validate([("flwr-oidc-access-token", "at-alice")])
    assert authz.has_access("alice") is True
    assert fedgate.calls("POST /v1/authorize")[0] == {"access_token": "at-alice", "relation": "has_access", "object": "service:superlink"}
    assert authz.has_access("carol") is False, "the call's token is alice's"
    assert authz.has_access(None) is False
    authn.validate([("flwr-oidc-access-token", "at-carol")])
    assert authz.has_access("carol") is False
    authn.validate([("flwr-oidc-access-token", "at-alice")])
    fedgate.answer("POST /v1/authorize", 503, {"error": "authz_unavailable"})
    assert authz.has_access("alice") is False
    fedgate.routes.pop("POST /v1/authorize")
    assert authz.has_access("alice") is False  # 404: an authz-service without /v1/authorize never allows


