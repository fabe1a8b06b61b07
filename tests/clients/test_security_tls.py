"""Elasticsearch over TLS with basic auth or an API key, for real, through a TLS-terminating proxy.

The local stand-in speaks neither TLS nor auth, so each test starts a small proxy (asyncio
``start_server`` with an ``ssl.SSLContext``, in its own thread) in front of it, with a certificate
from a throwaway CA made here with the ``openssl`` CLI. The proxy parses each HTTP request's head,
records its request line and ``Authorization`` header, and forwards it unchanged; answers flow back
as they come. The real ``logfleet`` CLI and indexer run as subprocesses configured by environment
variables and ``*_file`` secret files, like a deployment would. Kafka over TLS and SASL/SCRAM is
tested against a real broker in test_kafka_security.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from logfleet.core.config import Settings
from tests.support import cli_env, docs_reach, produce_events, spawn_cli, wait_for
from tests.tls import make_ca, make_server_cert

pytestmark = [pytest.mark.servers]

USER, PASSWORD = "auditor", "pw-Quokka-7731-tls"
API_KEY_ID, API_KEY = "idx-key-1", "k3y-Wombat-5512-tls"


class TlsProxy:
    """TLS in front of a plain HTTP server, recording (request line, Authorization) of every request."""

    def __init__(self, upstream: str, cert: Path, key: Path) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.requests: list[tuple[str, str | None]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> TlsProxy:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=30)
        self._server = server
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    @property
    def url(self) -> str:
        """The proxy's https URL (by name, so hostname verification is exercised)."""
        return f"https://localhost:{self.port}"

    def authorizations(self, path_part: str = "") -> set[str | None]:
        """The Authorization headers seen on requests whose request line contains ``path_part``."""
        return {auth for line, auth in list(self.requests) if path_part in line}

    async def _listen(self) -> asyncio.Server:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        answers = asyncio.create_task(self._pipe(up_reader, writer))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                fields = (line.partition(":") for line in lines[1:] if line)
                headers = {name.strip().lower(): value.strip() for name, _, value in fields}
                self.requests.append((lines[0], headers.get("authorization")))
                assert "chunked" not in headers.get("transfer-encoding", ""), "the proxy only knows Content-Length"
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                up_writer.write(head + body)
                await up_writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, asyncio.LimitOverrunError):
            pass
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(answers, 10)
            writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The proxy's CA, its server certificate and key, and an unrelated CA."""
    folder = tmp_path_factory.mktemp("tls")
    ca = make_ca(folder, "test-ca")
    cert, key = make_server_cert(folder, ca)
    return {"ca": ca, "cert": cert, "key": key, "wrong_ca": make_ca(folder / "other", "wrong-ca")}


@pytest.fixture
def proxy(stack: Settings, certs: dict[str, Path]) -> Iterator[TlsProxy]:
    """A TLS proxy in front of the stack's Elasticsearch, for one test."""
    with TlsProxy(stack.es_url, certs["cert"], certs["key"]) as running_proxy:
        yield running_proxy


def _cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logfleet", *args],
        env={**cli_env(settings), **env},
        capture_output=True,
        text=True,
        timeout=90,
    )


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_indexer_and_audit_search_through_tls_with_api_key_and_basic_auth(
    pipeline_settings: Settings, proxy: TlsProxy, certs: dict[str, Path], tmp_path: Path
) -> None:
    settings = pipeline_settings
    key_file = tmp_path / "es_api_key"
    key_file.write_text(f"{API_KEY_ID}:{API_KEY}\n")  # as a secrets mount would hold it, newline included
    await produce_events(settings, 300, "tls-app")

    log_path = tmp_path / "indexer.log"
    indexer = spawn_cli(
        settings, "indexer", "run", log_path=log_path,
        LOGFLEET_ES_URL=proxy.url, LOGFLEET_ES_CA_CERTS=str(certs["ca"]), LOGFLEET_ES_API_KEY_FILE=str(key_file),
    )  # fmt: skip
    try:
        indexed = await wait_for(lambda: docs_reach(settings, 300), within=120)
    finally:
        indexer.send_signal(signal.SIGTERM)
        indexer.wait(timeout=60)
    log = log_path.read_text()
    assert indexed == 300, log
    api_key = "ApiKey " + base64.b64encode(f"{API_KEY_ID}:{API_KEY}".encode()).decode()
    assert proxy.authorizations("/_bulk") == {api_key}
    assert API_KEY not in log

    password_file = tmp_path / "es_password"
    password_file.write_text(PASSWORD)
    result = await asyncio.to_thread(
        _cli, settings, "audit", "search", "--since", "3650d", "--limit", "1000", "--format", "ndjson",
        LOGFLEET_ES_URL=proxy.url, LOGFLEET_ES_CA_CERTS=str(certs["ca"]),
        LOGFLEET_ES_USERNAME=USER, LOGFLEET_ES_PASSWORD_FILE=str(password_file),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 300
    assert proxy.authorizations("_search") == {_basic(USER, PASSWORD)}
    assert PASSWORD not in result.stdout + result.stderr


async def test_wrong_ca_fails_with_one_clear_line_and_exit_code_4(
    stack: Settings, proxy: TlsProxy, certs: dict[str, Path]
) -> None:
    settings = dataclasses.replace(stack, namespace="tlsnone")
    result = await asyncio.to_thread(
        _cli, settings, "audit", "search", "--format", "ndjson",
        LOGFLEET_ES_URL=proxy.url, LOGFLEET_ES_CA_CERTS=str(certs["wrong_ca"]),
        LOGFLEET_ES_USERNAME=USER, LOGFLEET_ES_PASSWORD=PASSWORD,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"logfleet: Elasticsearch at {proxy.url}: TLS failed (certificate verify failed: unable to get local issuer"
        " certificate); check es_ca_certs and es_verify_certs"
    ]
    assert PASSWORD not in result.stdout + result.stderr
    assert proxy.requests == []  # nothing was sent over a connection that could not be trusted


async def test_unverified_tls_works_only_when_asked_for(stack: Settings, proxy: TlsProxy) -> None:
    settings = dataclasses.replace(stack, namespace="tlsnone")
    refused = await asyncio.to_thread(_cli, settings, "audit", "stats", "--format", "json", LOGFLEET_ES_URL=proxy.url)
    assert refused.returncode == 4 and "TLS failed" in refused.stderr, refused.stderr

    accepted = await asyncio.to_thread(
        _cli, settings, "audit", "stats", "--format", "json",
        LOGFLEET_ES_URL=proxy.url, LOGFLEET_ES_VERIFY_CERTS="false",
    )  # fmt: skip
    assert accepted.returncode == 6, accepted.stderr  # the server answered: this namespace has no data stream
    assert "TLS failed" not in accepted.stderr
    warning = orjson.loads(accepted.stderr.splitlines()[0])  # one JSON line says the certificate is unchecked
    assert (warning["event"], warning["url"]) == ("es_tls_unverified", proxy.url)
    assert proxy.authorizations() == {None}  # no credentials configured: none sent
