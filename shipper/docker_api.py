"""An asyncio client for the few Docker Engine API endpoints logfleet reads.

It speaks HTTP over the Unix socket (or TCP) with aiohttp, because the ``docker`` SDK is blocking and
its log reader costs more CPU per line than reading frames straight from the socket. Errors are
translated here into :class:`~logfleet.core.errors.DockerUnreachable` and :class:`~logfleet.core.errors.DockerError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from logfleet.core.errors import DockerError, DockerUnreachable

READ_SIZE = 64 * 1024


class ContainerGone(DockerError):
    """The container does not exist (any more)."""


class DockerClient:
    """Async Docker Engine API client; use as ``async with DockerClient(host) as docker``."""

    def __init__(self, docker_host: str) -> None:
        self.docker_host = docker_host
        if docker_host.startswith("unix://"):
            self._connector_path: str | None = docker_host[len("unix://") :]
            self._base = "http://docker"
        elif docker_host.startswith(("tcp://", "http://")):
            self._connector_path = None
            self._base = "http://" + docker_host.split("://", 1)[1]
        else:
            raise DockerError(f"unsupported DOCKER_HOST {docker_host!r} (use unix:// or tcp://)")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> DockerClient:
        connector: aiohttp.BaseConnector = (
            aiohttp.UnixConnector(path=self._connector_path) if self._connector_path else aiohttp.TCPConnector()
        )
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("DockerClient used outside 'async with'")
        return self._session

    @contextlib.asynccontextmanager
    async def _request(
        self, path: str, params: dict[str, str] | None = None, deadline_s: float | None = 30
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        try:
            async with self.session.get(
                self._base + path, params=params, timeout=aiohttp.ClientTimeout(total=deadline_s, sock_connect=10)
            ) as resp:
                if resp.status == 404:
                    raise ContainerGone(f"{path}: not found")
                if resp.status >= 400:
                    body = (await resp.read())[:300].decode(errors="replace")
                    raise DockerError(f"{path}: HTTP {resp.status}: {body}")
                yield resp
        except (aiohttp.ClientConnectionError, OSError) as exc:
            raise DockerUnreachable(f"Docker Engine at {self.docker_host} unreachable: {exc}") from exc

    async def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        async with self._request(path, params) as resp:
            return orjson.loads(await resp.read())

    async def ping(self) -> None:
        """Raise DockerUnreachable unless the daemon answers ``/_ping``."""
        async with self._request("/_ping", deadline_s=5):
            return

    async def list_containers(self, all_: bool = True) -> list[dict[str, Any]]:
        """``GET /containers/json``: running containers, or every container with ``all_``."""
        result = await self._get_json("/containers/json", {"all": "1" if all_ else "0"})
        return list(result)

    async def inspect(self, container_id: str) -> dict[str, Any]:
        """``GET /containers/{id}/json``; raises ContainerGone when it was removed."""
        result = await self._get_json(f"/containers/{container_id}/json")
        return dict(result)

    async def events(self, since: float, filters: dict[str, list[str]]) -> AsyncIterator[dict[str, Any]]:
        """Follow ``GET /events`` from ``since`` (seconds); one decoded event a time, until the stream ends."""
        params = {"since": f"{since:.9f}", "filters": orjson.dumps(filters).decode()}
        async with self._request("/events", params, deadline_s=None) as resp:
            try:
                async for line in resp.content:
                    if line.strip():
                        yield orjson.loads(line)
            except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
                raise DockerUnreachable(f"events stream broke: {exc}") from exc

    @contextlib.asynccontextmanager
    async def logs(self, container_id: str, *, follow: bool, since: str = "0") -> AsyncIterator[LogStream]:
        """Open ``GET /containers/{id}/logs`` with timestamps on both streams; yields the body reader.

        This one request bypasses aiohttp: it is sent as HTTP/1.0, so the daemon streams the body
        as it is instead of wrapping every log message in its own HTTP chunk (it flushes after each
        message), and the reader gets plain 64 KiB reads of frames, which is what makes the
        shipper's per-line cost low.
        """
        query = urlencode(
            {"follow": int(follow), "stdout": 1, "stderr": 1, "timestamps": 1, "since": since}
        )
        path = f"/containers/{container_id}/logs?{query}"
        try:
            if self._connector_path:
                reader, writer = await asyncio.open_unix_connection(self._connector_path, limit=READ_SIZE * 4)
            else:
                host, _, port = self._base.removeprefix("http://").partition(":")
                reader, writer = await asyncio.open_connection(host, int(port or 2375), limit=READ_SIZE * 4)
        except OSError as exc:
            raise DockerUnreachable(f"Docker Engine at {self.docker_host} unreachable: {exc}") from exc
        # asyncio's socket transport recv()s into a fresh 256 KiB buffer each time: above glibc's mmap
        # threshold, so every read paid mmap, page faults, mremap and munmap (about 0.5 s of CPU per
        # million lines). Reads of at most 64 KiB come from the heap.
        if isinstance(getattr(writer.transport, "max_size", None), int):
            setattr(writer.transport, "max_size", READ_SIZE)  # noqa: B010 (not a declared attribute)
        try:
            writer.write(f"GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: logfleet\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            if status == 404:
                raise ContainerGone(f"{path}: not found")
            if status >= 400:
                body = (await reader.read(300)).decode(errors="replace")
                raise DockerError(f"{path}: HTTP {status}: {body}")
            yield LogStream(reader)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError) as exc:
            raise DockerUnreachable(f"bad answer from the Docker Engine for {path}: {exc}") from exc
        except (ConnectionError, OSError) as exc:
            raise DockerUnreachable(f"logs stream of {container_id[:12]} broke: {exc}") from exc
        finally:
            writer.close()


class LogStream:
    """The body of a logs response: :meth:`readany` returns what arrived, ``b""`` at the end."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def readany(self) -> bytes:
        """Up to 64 KiB of frames; waits for at least one byte; ``b""`` once the stream ended."""
        return await self._reader.read(READ_SIZE)
