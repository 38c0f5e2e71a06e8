"""A small REST client for Fedgate's login, token and authz services (API.md, v1).

Standard library only (urllib + ssl): TLS is always verified, against the configured CA
when one is given. Every call carries the SuperLink's own `x-fedgate-key` (role `superlink`,
for its service only); what a person does goes with that person's own access token, verified
by Fedgate: the SuperLink never names the actor itself (API.md "Who is calling").
Errors keep Fedgate's stable codes; anything that is not an answer from Fedgate (no
connection, timeout, 5xx, a body that is not the documented JSON) is FedgateUnavailable,
which every caller in this package treats as "deny".
"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence
from urllib.parse import urlencode

from .config import FedgateSettings

log = logging.getLogger("fedgate_flower")

_MAX_BODY = 1 << 20


class FedgateError(Exception):
    """Fedgate answered with an error: `code` is its stable machine code."""

    def __init__(self, code: str, description: str = "", status: int = 0) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.status = status


class FedgateUnavailable(FedgateError):
    """Fedgate could not answer (network, timeout, 5xx, malformed answer): fail closed."""


@dataclass(frozen=True)
class Account:
    flwr_aid: str
    account_name: Optional[str]


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: Optional[int]
    account: Optional[Account]


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class Verification:
    active: bool
    account: Optional[Account]
    error: Optional[str]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    decision_id: Optional[str]


@dataclass(frozen=True)
class Authorization:
    """`POST /v1/authorize`: the decision and the account the token proved (None when refused)."""

    allowed: bool
    decision_id: Optional[str]
    account: Optional[Account]
    error: Optional[str] = None


@dataclass(frozen=True)
class Check:
    flwr_aid: str
    relation: str
    object: str


class FedgateClient:
    def __init__(self, settings: FedgateSettings) -> None:
        self.settings = settings
        self._tls = ssl.create_default_context(cafile=settings.ca_cert)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._tls),
            _NoRedirects(),
        )
        # The consistency token of this SuperLink's latest ownership write: later checks and
        # listings pass it, so a run is visible to its owner right after StartRun.
        self._consistency_token: Optional[str] = None

    # ---- login-service -------------------------------------------------------------
    def device_authorize(self) -> DeviceAuthorization:
        body = self._call("POST", self.settings.login_url, "/v1/device/authorize", {})
        try:
            return DeviceAuthorization(
                device_code=_str(body, "device_code"),
                user_code=_str(body, "user_code"),
                verification_uri=_str(body, "verification_uri"),
                verification_uri_complete=str(body.get("verification_uri_complete") or body["verification_uri"]),
                expires_in=int(body["expires_in"]),
                interval=int(body.get("interval", 5)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise FedgateUnavailable("malformed_answer", "device authorization answer lacks a field") from err

    def device_token(self, device_code: str) -> Tokens:
        """Tokens once the user approved; FedgateError authorization_pending / slow_down / ... before."""
        return _tokens(self._call("POST", self.settings.login_url, "/v1/device/token", {"device_code": device_code}))

    def refresh(self, refresh_token: str) -> Tokens:
        return _tokens(self._call("POST", self.settings.login_url, "/v1/token/refresh", {"refresh_token": refresh_token}))

    # ---- token-service -------------------------------------------------------------
    def verify(self, access_token: str) -> Verification:
        try:
            body = self._call("POST", self.settings.token_url, "/v1/verify", {"access_token": access_token})
        except FedgateError as err:
            if isinstance(err, FedgateUnavailable) or err.status != 401 or err.code == "invalid_client":
                raise
            return Verification(active=False, account=None, error=err.code)
        if body.get("active") is not True:
            return Verification(active=False, account=None, error=str(body.get("error") or "invalid_token"))
        return Verification(active=True, account=_account(body.get("account")), error=None)

    # ---- authz-service -------------------------------------------------------------
    def authorize(self, access_token: str, relation: str, object_: str) -> Authorization:
        """The person's token and the question in one call (verified and decided by Fedgate,
        one audit event). A refused token is `allowed=False` with its `error` code."""
        payload: dict[str, Any] = {"access_token": access_token, "relation": relation, "object": object_}
        if self._consistency_token is not None:
            payload["consistency_token"] = self._consistency_token
        try:
            body = self._call("POST", self.settings.authz_url, "/v1/authorize", payload)
        except FedgateError as err:
            if isinstance(err, FedgateUnavailable) or err.status != 401 or err.code == "invalid_client":
                raise
            return Authorization(allowed=False, decision_id=None, account=None, error=err.code)
        decision = _decision(body)
        account = _account(body.get("account"))
        if account is None:
            raise FedgateUnavailable("malformed_answer", "authorize answer lacks the verified account")
        return Authorization(allowed=decision.allowed, decision_id=decision.decision_id, account=account)

    def check(self, flwr_aid: str, relation: str, object_: str) -> Decision:
        payload: dict[str, Any] = {"flwr_aid": flwr_aid, "relation": relation, "object": object_}
        if self._consistency_token is not None:
            payload["consistency_token"] = self._consistency_token
        return _decision(self._call("POST", self.settings.authz_url, "/v1/check", payload))

    def check_batch(self, checks: Sequence[Check]) -> list[Decision]:
        if not checks:
            return []
        payload: dict[str, Any] = {"checks": [{"flwr_aid": c.flwr_aid, "relation": c.relation, "object": c.object} for c in checks]}
        if self._consistency_token is not None:
            payload["consistency_token"] = self._consistency_token
        body = self._call("POST", self.settings.authz_url, "/v1/check/batch", payload)
        results = body.get("results")
        if not isinstance(results, list) or len(results) != len(checks):
            raise FedgateUnavailable("malformed_answer", "batch check answer does not match the request")
        return [_decision(r) for r in results]

    def register_run(self, run_id: int, access_token: str, federation: Optional[str] = None) -> Mapping[str, Any]:
        """The run becomes the property of the person whose token started it (Fedgate verifies it)."""
        payload: dict[str, Any] = {"run_id": str(run_id), "access_token": access_token, "service": self.settings.service_name}
        if federation:
            payload["federation"] = federation
        body = self._call("POST", self.settings.authz_url, "/v1/runs", payload)
        token = body.get("consistency_token")
        if isinstance(token, str) and token:
            self._consistency_token = token
        return body

    def viewable_runs(self, access_token: str) -> dict[int, str]:
        """run id → role, for the runs the token's person may view in this SuperLink's service."""
        query = {} if self._consistency_token is None else {"consistency_token": self._consistency_token}
        path = "/v1/runs" + ("?" + urlencode(query) if query else "")
        body = self._call("GET", self.settings.authz_url, path, None, bearer=access_token)
        runs = body.get("runs")
        if not isinstance(runs, list):
            raise FedgateUnavailable("malformed_answer", "runs answer lacks a runs list")
        viewable: dict[int, str] = {}
        for entry in runs:
            try:
                viewable[int(str(entry["run_id"]))] = str(entry.get("role", ""))
            except (KeyError, TypeError, ValueError):
                log.warning("fedgate: ignoring a run entry without a numeric run_id")
        return viewable

    # ---- transport -----------------------------------------------------------------
    def _call(self, method: str, base: str, path: str, body: Optional[Mapping[str, Any]], bearer: Optional[str] = None) -> Mapping[str, Any]:
        url = base.rstrip("/") + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"accept": "application/json", "x-fedgate-key": self.settings.api_key}
        if bearer is not None:
            headers["authorization"] = f"Bearer {bearer}"
        if data is not None:
            headers["content-type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        endpoint = f"{method} {base.rstrip('/')}{path.split('?')[0]}"
        try:
            with self._opener.open(request, timeout=self.settings.timeout_seconds) as response:
                return _json_object(response.read(_MAX_BODY + 1), endpoint)
        except urllib.error.HTTPError as err:
            with err:
                answer = _error_body(err.read(_MAX_BODY + 1))
            code = answer.get("error") or f"http_{err.code}"
            description = answer.get("error_description") or ""
            if err.code >= 500 or err.code == 429:
                raise FedgateUnavailable(code, description or f"{endpoint} answered {err.code}", err.code) from None
            raise FedgateError(code, description, err.code) from None
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            reason = getattr(err, "reason", err)
            raise FedgateUnavailable("fedgate_unreachable", f"{endpoint}: {reason.__class__.__name__}: {reason}") from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the API key elsewhere: treat it as an error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _json_object(raw: bytes, endpoint: str) -> Mapping[str, Any]:
    if len(raw) > _MAX_BODY:
        raise FedgateUnavailable("malformed_answer", f"{endpoint}: answer too large")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise FedgateUnavailable("malformed_answer", f"{endpoint}: answer is not JSON") from err
    if not isinstance(value, dict):
        raise FedgateUnavailable("malformed_answer", f"{endpoint}: answer is not a JSON object")
    return value


def _error_body(raw: bytes) -> dict[str, str]:
    try:
        value = json.loads(raw[:_MAX_BODY])
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k in ("error", "error_description") and isinstance(v, str)}


def _str(body: Mapping[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str) or not value:
        raise ValueError(key)
    return value


def _account(value: Any) -> Optional[Account]:
    if not isinstance(value, dict) or not isinstance(value.get("flwr_aid"), str) or not value["flwr_aid"]:
        return None
    name = value.get("account_name")
    return Account(flwr_aid=value["flwr_aid"], account_name=name if isinstance(name, str) else None)


def _tokens(body: Mapping[str, Any]) -> Tokens:
    try:
        expires_in = body.get("expires_in")
        return Tokens(
            access_token=_str(body, "access_token"),
            refresh_token=_str(body, "refresh_token"),
            expires_in=int(expires_in) if expires_in is not None else None,
            account=_account(body.get("account")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise FedgateUnavailable("malformed_answer", "token answer lacks access_token or refresh_token") from err


def _decision(body: Any) -> Decision:
    if not isinstance(body, dict) or not isinstance(body.get("allowed"), bool):
        raise FedgateUnavailable("malformed_answer", "check answer lacks a boolean `allowed`")
    decision_id = body.get("decision_id")
    return Decision(allowed=body["allowed"], decision_id=str(decision_id) if decision_id is not None else None)


__all__ = ["Account", "Authorization", "Check", "Decision", "DeviceAuthorization", "FedgateClient", "FedgateError", "FedgateUnavailable", "Tokens", "Verification"]
