"""`logfleet audit` mistakes and failures: one line on stderr, a distinct exit code, no traceback.

No server is needed: a bad time expression is refused before any request, an unreachable server is
a closed port, and refused credentials come from a small HTTP server that answers like an
Elasticsearch with security enabled (401 ``security_exception``). The no-data-stream case (exit 6)
needs the real server and is in test_audit_queries.py.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from logfleet.ops.audit.output import StreamPrinter
from logfleet.ops.audit.search import time_range

SUBCOMMANDS = [
    ["search"],
    ["follow", "--max-seconds", "1"],
    ["export", "-o", "-"],
    ["stats"],
    ["violations"],
]


def logfleet(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LOGFLEET_STACK_DIR": "/nonexistent", **env}
    return subprocess.run(
        [sys.executable, "-m", "logfleet", *args], env=environment, capture_output=True, text=True, timeout=60
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: a[0])
def test_bad_time_expression_is_exit_code_7(args: list[str]) -> None:
    result = logfleet("audit", *args, "--since", "last tuesday", LOGFLEET_ES_URL="http://127.0.0.1:1")
    assert result.returncode == 7
    assert one_line(result).startswith("logfleet: bad time expression 'last tuesday': use now, a duration")


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: a[0])
def test_unreachable_server_is_exit_code_4(args: list[str]) -> None:
    result = logfleet("audit", *args, LOGFLEET_ES_URL="http://127.0.0.1:1")
    assert result.returncode == 4
    assert one_line(result).startswith("logfleet: Elasticsearch at http://127.0.0.1:1 unreachable")


class _RefusingElasticsearch(http.server.BaseHTTPRequestHandler):
    """Answers every request as Elasticsearch does when the credentials are wrong."""

    def _refuse(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        reason = f"unable to authenticate user [auditor] for REST request [{self.path}]"
        body = json.dumps(
            {"error": {"root_cause": [{"type": "security_exception", "reason": reason}],
                       "type": "security_exception", "reason": reason}, "status": 401}
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("WWW-Authenticate", 'Basic realm="security" charset="UTF-8"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _refuse

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def refusing_es() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingElasticsearch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: a[0])
def test_refused_credentials_are_exit_code_5(refusing_es: str, args: list[str]) -> None:
    result = logfleet("audit", *args, LOGFLEET_ES_URL=refusing_es)
    assert result.returncode == 5
    assert one_line(result) == f"logfleet: Elasticsearch at {refusing_es} refused the credentials: security_exception"


def test_bad_namespace_is_a_configuration_error() -> None:
    result = logfleet("audit", "search", "--namespace", "Prod-1", LOGFLEET_ES_URL="http://127.0.0.1:1")
    assert result.returncode == 2
    assert "bad namespace 'Prod-1'" in one_line(result)


def test_time_expressions_reach_the_server_as_rfc3339() -> None:
    bounds = time_range("2024-05-01T12:00:00.123456Z", "2024-05-01T13:00:00+02:00")
    assert bounds == {"gte": "2024-05-01T12:00:00.123456Z", "lte": "2024-05-01T11:00:00.000000Z"}
    since = datetime.fromisoformat(time_range("15m", "now")["gte"].replace("Z", "+00:00"))
    assert 14 * 60 < (datetime.now(UTC) - since).total_seconds() < 16 * 60


@pytest.mark.parametrize("count", [0, 1, 3])
def test_follow_json_output_is_one_valid_array_however_it_ends(count: int) -> None:
    printer = StreamPrinter("json")
    docs = [{"message": f"m{i}", "n": i} for i in range(count)]
    text = printer.start() + "".join(printer.rows([d]) for d in docs) + printer.end()
    assert json.loads(text) == docs
