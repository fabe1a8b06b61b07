"""Contract test of `logfleet setup kibana`: the request it sends is the documented import request.

A local aiohttp server stands in for Kibana and records what arrives: ``POST
[/base][/s/<space>]/api/saved_objects/_import?overwrite=true`` with ``kbn-xsrf: true``, the
credentials from the environment or a file as an ``Authorization`` header, and a multipart body
with one part named ``file`` holding the NDJSON unchanged. It answers the way Kibana 8.x does
(``success``, ``successCount``, ``successResults``, ``errors``), and the CLI's report is checked
against that answer. The real ``logfleet`` entry point runs in a subprocess.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "kibana" / "logfleet.ndjson"


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    parts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeKibana:
    url: str
    received: list[Received]
    imported: set[tuple[str, str]]


def kibana_answer(kibana: FakeKibana, ndjson: bytes, fail: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """What Kibana 8.x answers to an import: per-object results, errors for the failing ones."""
    successes, errors = [], []
    for line in ndjson.splitlines():
        obj = json.loads(line)
        key = (obj["type"], obj["id"])
        meta = {"title": obj["attributes"].get("title", ""), "icon": "app"}
        if key in fail:
            errors.append({"id": obj["id"], "type": obj["type"], "title": meta["title"], "meta": meta,
                           "error": fail[key]})
            continue
        result = {"id": obj["id"], "type": obj["type"], "meta": meta}
        if key in kibana.imported:
            result["overwrite"] = True
        kibana.imported.add(key)
        successes.append(result)
    answer: dict[str, Any] = {"success": not errors, "successCount": len(successes), "successResults": successes}
    if errors:
        answer["errors"] = errors
    return answer


Behaviour = Callable[[FakeKibana, Received], web.Response | None]


@pytest.fixture
async def kibana(request: pytest.FixtureRequest) -> AsyncIterator[FakeKibana]:
    behaviour: Behaviour | None = getattr(request, "param", None)
    fail: dict[tuple[str, str], dict[str, Any]] = {}
    fake = FakeKibana(url="", received=[], imported=set())

    async def handle(req: web.Request) -> web.StreamResponse:
        received = Received(req.method, req.path, dict(req.query), dict(req.headers))
        fake.received.append(received)
        if req.content_type.startswith("multipart/"):
            reader = await req.multipart()
            while (part := await reader.next()) is not None:
                received.parts.append(
                    {
                        "name": part.name,  # type: ignore[union-attr]
                        "filename": part.filename,  # type: ignore[union-attr]
                        "content_type": part.headers.get("Content-Type"),
                        "data": await part.read(),  # type: ignore[union-attr]
                    }
                )
        if behaviour is not None:
            special = behaviour(fake, received)
            if special is not None:
                return special
        files = [p for p in received.parts if p["name"] == "file"]
        if not files:
            return web.json_response({"statusCode": 400, "error": "Bad Request", "message": "no file"}, status=400)
        return web.json_response(kibana_answer(fake, files[0]["data"], fail))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


async def logfleet(*args: str, **env: str) -> Run:
    """The real CLI in a subprocess (asynchronously: the fake Kibana runs in this event loop)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOGFLEET_KIBANA_")}
    environment.update(LOGFLEET_STACK_DIR="/nonexistent", **env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "logfleet", *args,
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return Run(proc.returncode or 0, out.decode(), err.decode())


def objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text().splitlines()]


async def test_the_import_request_is_the_documented_one(kibana: FakeKibana) -> None:
    run = await logfleet(
        "setup", "kibana", "--url", kibana.url, "--space", "ops",
        LOGFLEET_KIBANA_USERNAME="auditor", LOGFLEET_KIBANA_PASSWORD="s3cret-pw",
    )
    assert run.code == 0, run.stderr

    assert len(kibana.received) == 1
    sent = kibana.received[0]
    assert sent.method == "POST"
    assert sent.path == "/s/ops/api/saved_objects/_import"
    assert sent.query == {"overwrite": "true"}
    assert sent.headers["kbn-xsrf"] == "true"
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"auditor:s3cret-pw").decode()
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert [p["name"] for p in sent.parts] == ["file"]
    part = sent.parts[0]
    assert part["filename"] == "logfleet.ndjson"  # Kibana refuses files not named *.ndjson
    assert part["content_type"] == "application/ndjson"
    assert part["data"] == NDJSON.read_bytes()

    lines = run.stdout.splitlines()
    for obj in objects():  # one line per object, in file order, each ok
        assert any(line.startswith("ok") and obj["id"] in line and "(created)" in line for line in lines), obj["id"]
    assert lines[-1].startswith(f"imported {len(objects())} objects into Kibana (space ops)")
    assert "s3cret-pw" not in run.stdout + run.stderr


async def test_running_it_again_overwrites_the_same_objects(kibana: FakeKibana) -> None:
    first = await logfleet("setup", "kibana", "--url", kibana.url)
    second = await logfleet("setup", "kibana", "--url", kibana.url)
    assert first.code == second.code == 0, second.stderr
    assert [r.path for r in kibana.received] == ["/api/saved_objects/_import"] * 2  # default space: no /s/...
    assert kibana.received[0].parts[0]["data"] == kibana.received[1].parts[0]["data"]
    assert "Authorization" not in kibana.received[0].headers  # no credentials configured, none sent
    assert second.stdout.count("(overwritten)") == len(objects())


async def test_api_key_from_a_credentials_file_and_a_base_path(kibana: FakeKibana, tmp_path: Path) -> None:
    credentials = tmp_path / "kibana.toml"
    credentials.write_text('api_key = "aWQ6a2V5"\n')
    credentials.chmod(0o600)
    run = await logfleet(
        "setup", "kibana", "--url", f"{kibana.url}/kibana/", "--credentials-file", str(credentials),
        LOGFLEET_KIBANA_USERNAME="ignored", LOGFLEET_KIBANA_PASSWORD="ignored",
    )
    assert run.code == 0, run.stderr
    assert kibana.received[0].path == "/kibana/api/saved_objects/_import"
    assert kibana.received[0].headers["Authorization"] == "ApiKey aWQ6a2V5"
    assert "warning" not in run.stderr


async def test_a_credentials_file_others_can_read_is_named(kibana: FakeKibana, tmp_path: Path) -> None:
    credentials = tmp_path / "kibana.toml"
    credentials.write_text('username = "a"\npassword = "b"\n')
    credentials.chmod(0o644)
    run = await logfleet("setup", "kibana", "--url", kibana.url, "--credentials-file", str(credentials))
    assert run.code == 0
    assert f"{credentials} can be read by other users" in run.stderr


def _missing_index_pattern(fake: FakeKibana, received: Received) -> web.Response:
    dashboard = ("dashboard", "logfleet-dashboard-overview")
    error = {"type": "missing_references", "references": [{"type": "index-pattern", "id": "logfleet-logs"}]}
    answer = kibana_answer(fake, received.parts[0]["data"], {dashboard: error})
    return web.json_response(answer)


@pytest.mark.parametrize("kibana", [_missing_index_pattern], indirect=True)
async def test_an_object_kibana_refuses_is_reported_with_its_error(kibana: FakeKibana) -> None:
    run = await logfleet("setup", "kibana", "--url", kibana.url)
    assert run.code == 1
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1
    assert "logfleet-dashboard-overview" in failed[0]
    assert "missing_references: index-pattern/logfleet-logs" in failed[0]
    assert run.stderr.strip() == (
        f"logfleet: 1 of {len(objects())} objects failed to import into {kibana.url}/api/saved_objects/_import"
    )


def _unauthorized(fake: FakeKibana, received: Received) -> web.Response:
    body = {"statusCode": 401, "error": "Unauthorized", "message": "[security_exception] unable to authenticate"}
    return web.json_response(body, status=401)


@pytest.mark.parametrize("kibana", [_unauthorized], indirect=True)
async def test_refused_credentials_are_one_line_and_exit_code_5(kibana: FakeKibana) -> None:
    run = await logfleet(
        "setup", "kibana", "--url", kibana.url, LOGFLEET_KIBANA_USERNAME="a", LOGFLEET_KIBANA_PASSWORD="wrong"
    )
    assert run.code == 5
    assert "refused the credentials (HTTP 401)" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


async def test_unreachable_kibana_is_one_line_and_exit_code_4() -> None:
    run = await logfleet("setup", "kibana", "--url", "http://127.0.0.1:1")
    assert run.code == 4
    assert "Kibana at http://127.0.0.1:1 unreachable" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


async def test_half_given_credentials_are_a_configuration_error(kibana: FakeKibana) -> None:
    run = await logfleet("setup", "kibana", "--url", kibana.url, LOGFLEET_KIBANA_USERNAME="only-a-user")
    assert run.code == 2
    assert "go together" in run.stderr
    assert kibana.received == []


async def test_credentials_cannot_be_passed_as_arguments() -> None:
    run = await logfleet("setup", "kibana", "--url", "http://127.0.0.1:1", "--password", "x")
    assert run.code == 2 and "No such option '--password'" in run.stderr
