"""A tiny Fedgate stand-in over real TLS (its own throwaway CA), for the unit tests.

Integration against the real services is the end-to-end test (apps/flower-e2e).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fedgate_flower.config import FedgateSettings

API_KEY = "unit-test-key"
Answer = Tuple[int, Any]
Handler = Callable[[Dict[str, Any], Dict[str, str]], Answer]


def _pki(directory: Path) -> Tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fedgate-flower unit CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


@dataclass
class FakeFedgate:
    """Routes `METHOD /path` (query string stripped) to handlers; records every request."""

    base_url: str
    ca_cert: Path
    routes: Dict[str, Handler] = field(default_factory=dict)
    requests: List[Tuple[str, str, Dict[str, Any], Dict[str, str]]] = field(default_factory=list)

    def on(self, route: str, handler: Handler) -> None:
        self.routes[route] = handler

    def answer(self, route: str, status: int, body: Any) -> None:
        self.routes[route] = lambda _body, _headers: (status, body)

    def calls(self, route: str) -> List[Dict[str, Any]]:
        method, path = route.split(" ", 1)
        return [body for m, p, body, _ in self.requests if m == method and p.split("?")[0] == path]

    def settings(self, **overrides: Any) -> FedgateSettings:
        values: Dict[str, Any] = dict(
            login_url=self.base_url, token_url=self.base_url, authz_url=self.base_url,
            api_key=API_KEY, service_name="superlink", ca_cert=str(self.ca_cert), timeout_seconds=2.0,
        )
        values.update(overrides)
        return FedgateSettings(**values)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path, Path]:
    return _pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def fedgate(pki: Tuple[Path, Path, Path]) -> Iterator[FakeFedgate]:
    ca, cert, key = pki
    fake = FakeFedgate(base_url="", ca_cert=ca)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append((self.command, self.path, body, headers))
            route = f"{self.command} {self.path.split('?')[0]}"
            if headers.get("x-fedgate-key") != API_KEY and not route.startswith("GET /redirect"):
                status, answer = 401, {"error": "invalid_client", "error_description": "bad key"}
            elif route in fake.routes:
                status, answer = fake.routes[route](body, headers)
            else:
                status, answer = 404, {"error": "not_found", "error_description": route}
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            if status in (301, 302, 307):
                self.send_header("location", "https://example.invalid/")
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    fake.base_url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def tokens_answer(access: str = "at-1", refresh: str = "rt-1", flwr_aid: str = "alice") -> Dict[str, Any]:
    return {
        "access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": 300,
        "account": {"flwr_aid": flwr_aid, "account_name": flwr_aid},
    }


def verify_answer(flwr_aid: str = "alice", active: bool = True) -> Answer:
    if not active:
        return 401, {"active": False, "error": "expired_token", "error_description": "expired"}
    return 200, {"active": True, "account": {"flwr_aid": flwr_aid, "account_name": f"{flwr_aid}-name"}, "scope": "openid", "expires_at": 0}


def metadata(access: Optional[str] = "at-1", refresh: Optional[str] = "rt-1") -> List[Tuple[str, str]]:
    md = [("user-agent", "grpc")]
    if access is not None:
        md.append(("flwr-oidc-access-token", access))
    if refresh is not None:
        md.append(("flwr-oidc-refresh-token", refresh))
    return md
