"""What the SuperLink plugins do, independent of the Flower release's plugin classes.

The SuperLink adapter (superlink_adapter.py) only translates these answers into Flower's types.
Every path that cannot get a definite answer from Fedgate denies.
"""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

from .client import Account, Authorization, DeviceAuthorization, FedgateClient, FedgateError, FedgateUnavailable, Tokens

log = logging.getLogger("fedgate_flower")

# The gRPC metadata keys of Flower's OIDC CLI plugin (flwr.common.constant).
ACCESS_TOKEN_KEY = "flwr-oidc-access-token"
REFRESH_TOKEN_KEY = "flwr-oidc-refresh-token"
# Device-flow answers that mean "keep polling" (RFC 8628 §3.5).
_KEEP_POLLING = frozenset({"authorization_pending", "slow_down"})

Metadata = Sequence[Tuple[str, Union[str, bytes]]]

# Set by validate() when token-service could not answer, read by refresh() in the same
# call: an outage must deny, not turn into a refresh that bypasses verification.
_verification_unavailable: contextvars.ContextVar[bool] = contextvars.ContextVar("fedgate_verification_unavailable", default=False)
# The access token the authentication step of this same call verified (or refreshed): flwr's
# authorization plugin and the run guards receive only the account, yet Fedgate decides for the
# person the token proves, so the token travels with the call (never beyond it).
_verified_token: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("fedgate_verified_token", default=None)


def current_access_token() -> Optional[str]:
    """The access token verified by the authentication step of the running Control API call."""
    return _verified_token.get()


def metadata_value(metadata: Metadata, key: str) -> Optional[str]:
    for name, value in metadata:
        if name.lower() == key:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            return text or None
    return None


def token_metadata(tokens: Tokens) -> list[Tuple[str, Union[str, bytes]]]:
    """The tokens as the metadata Flower hands back to the CLI (both plugin interfaces)."""
    return [(ACCESS_TOKEN_KEY, tokens.access_token), (REFRESH_TOKEN_KEY, tokens.refresh_token)]


@dataclass(frozen=True)
class Refreshed:
    tokens: Tokens
    account: Account


class FedgateAuthn:
    """Device login through login-service, verification through token-service."""

    def __init__(self, client: FedgateClient) -> None:
        self.client = client

    def login_details(self) -> Optional[DeviceAuthorization]:
        try:
            return self.client.device_authorize()
        except FedgateError as err:
            log.error("fedgate: device authorization failed: %s", err.code)
            return None

    def poll_tokens(self, device_code: str) -> Optional[Tokens]:
        """Tokens once approved; None while pending and for every failure (the CLI keeps polling until it times out)."""
        if not device_code:
            return None
        try:
            return self.client.device_token(device_code)
        except FedgateError as err:
            if err.code not in _KEEP_POLLING:
                log.info("fedgate: device login ended without tokens: %s", err.code)
            return None

    def validate(self, metadata: Metadata) -> Optional[Account]:
        """The account of a valid access token; None when invalid, expired, revoked or unverifiable."""
        _verification_unavailable.set(False)
        _verified_token.set(None)
        access_token = metadata_value(metadata, ACCESS_TOKEN_KEY)
        if access_token is None:
            return None
        try:
            verification = self.client.verify(access_token)
        except FedgateError as err:
            _verification_unavailable.set(True)
            log.error("fedgate: token verification unavailable (%s): denying", err.code)
            return None
        if not verification.active:
            return None
        if verification.account is None:
            log.error("fedgate: token-service answered active without an account: denying")
            return None
        _verified_token.set(access_token)
        return verification.account

    def refresh(self, metadata: Metadata) -> Optional[Refreshed]:
        """New tokens (verified by token-service) for the refresh token in the metadata, or None."""
        if _verification_unavailable.get():
            return None
        refresh_token = metadata_value(metadata, REFRESH_TOKEN_KEY)
        if refresh_token is None:
            return None
        try:
            tokens = self.client.refresh(refresh_token)
            # token-service stays the one authority on who a token belongs to
            verification = self.client.verify(tokens.access_token)
        except FedgateError as err:
            log.info("fedgate: refresh failed: %s", err.code)
            return None
        if not verification.active or verification.account is None:
            log.error("fedgate: a freshly refreshed access token did not verify: denying")
            return None
        _verified_token.set(tokens.access_token)
        return Refreshed(tokens=tokens, account=verification.account)


class FedgateAuthz:
    """Decisions through authz-service's `POST /v1/authorize`, for the person whose token the
    authentication step of the same call verified."""

    def __init__(self, client: FedgateClient) -> None:
        self.client = client

    def allows(self, flwr_aid: Optional[str], relation: str, object_: str) -> Optional[Authorization]:
        """The decision for the call's verified token; None (deny) without one, for another
        account than flwr passes, or when Fedgate cannot answer."""
        token = current_access_token()
        if not flwr_aid or token is None:
            log.warning("fedgate: no verified token in this call: denying %s on %s", relation, object_)
            return None
        try:
            answer = self.client.authorize(token, relation, object_)
        except FedgateError as err:
            level = logging.ERROR if isinstance(err, FedgateUnavailable) or err.code == "invalid_client" else logging.WARNING
            log.log(level, "fedgate: %s decision failed (%s): denying", relation, err.code)
            return None
        if answer.account is not None and answer.account.flwr_aid != flwr_aid:
            log.error("fedgate: the verified token is not %s's: denying", flwr_aid)
            return None
        return answer

    def has_access(self, flwr_aid: Optional[str]) -> bool:
        answer = self.allows(flwr_aid, "has_access", self.client.settings.service_object)
        return answer is not None and answer.allowed


# Run operations of the Control API → the authz relation on `run:<id>` they need.
RUN_RELATIONS = {
    "ListRuns": "can_view",
    "StopRun": "can_stop",
    "StreamLogs": "can_read_logs",
    "PullArtifacts": "can_pull_artifacts",
}
