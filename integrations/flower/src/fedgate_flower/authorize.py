"""The person-token calls of authz-service (API.md "Who is calling"): decisions, run
registration and run listing, each asked with the person's own access token and the
SuperLink's key, so that authz-service verifies the person and audits the answer.

Transport, TLS and error mapping are FedgateClient's; these only shape the calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlencode

from .client import FedgateClient, FedgateError, FedgateUnavailable


@dataclass(frozen=True)
class PersonDecision:
    allowed: bool
    decision_id: Optional[str]
    flwr_aid: Optional[str]  # the token's subject, as authz-service verified it
    account_name: Optional[str]


def authorize(client: FedgateClient, access_token: str, relation: str, object_: str) -> PersonDecision:
    """POST /v1/authorize; an invalid/expired/revoked token is a denial (FedgateError), never an allow."""
    payload: dict[str, Any] = {"access_token": access_token, "relation": relation, "object": object_}
    if client._consistency_token is not None:
        # see at least this SuperLink's latest run registration (its owner right after StartRun)
        payload["consistency_token"] = client._consistency_token
    body = client._call("POST", client.settings.authz_url, "/v1/authorize", payload)
    allowed = body.get("allowed")
    if not isinstance(allowed, bool):
        raise FedgateUnavailable("malformed_answer", "authorize answer lacks a boolean `allowed`")
    account = body.get("account")
    account = account if isinstance(account, dict) else {}
    decision_id = body.get("decision_id")
    return PersonDecision(
        allowed=allowed,
        decision_id=str(decision_id) if decision_id is not None else None,
        flwr_aid=_text(account, "flwr_aid"),
        account_name=_text(account, "account_name"),
    )


def register_run(client: FedgateClient, run_id: int, access_token: str, federation: Optional[str]) -> Mapping[str, Any]:
    """POST /v1/runs: the token's subject becomes the owner; the federation is stored with the run."""
    payload: dict[str, Any] = {"run_id": str(run_id), "access_token": access_token}
    if federation:
        payload["federation"] = federation
    body = client._call("POST", client.settings.authz_url, "/v1/runs", payload)
    token = body.get("consistency_token")
    if isinstance(token, str) and token:
        client._consistency_token = token
    return body


def viewable_runs(client: FedgateClient, access_token: str) -> dict[int, str]:
    """GET /v1/runs with the person's bearer token: run id -> role, for the runs they may view."""
    query = "" if client._consistency_token is None else "?" + urlencode({"consistency_token": client._consistency_token})
    body = client._call("GET", client.settings.authz_url, "/v1/runs" + query, None, bearer=access_token)
    runs = body.get("runs")
    if not isinstance(runs, list):
        raise FedgateUnavailable("malformed_answer", "runs answer lacks a runs list")
    viewable: dict[int, str] = {}
    for entry in runs:
        try:
            viewable[int(str(entry["run_id"]))] = str(entry.get("role", ""))
        except (KeyError, TypeError, ValueError):
            continue
    return viewable


def _text(body: Mapping[str, Any], key: str) -> Optional[str]:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


__all__ = ["FedgateError", "PersonDecision", "authorize", "register_run", "viewable_runs"]
