"""The image ``local/busybox:1``, made without a registry (none can be reached here).

It holds the host's static busybox (Debian ``busybox-static``) with a symlink for every applet, and is
imported into the Docker Engine as a one-layer image. Tests, the quickstart and the benchmarks run
their containers from it.
"""

from __future__ import annotations

import contextlib
import io
import struct
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from logfleet.core.errors import StackError

IMAGE = "local/busybox:1"


def _busybox() -> Path:
    for candidate in (Path("/bin/busybox"), Path("/usr/bin/busybox")):
        if candidate.is_file():
            break
    else:
        raise StackError("no busybox binary to build the test image from: apt-get install busybox-static")
    head = candidate.read_bytes()
    if head[:4] == b"\x7fELF" and head[4] == 2:  # 64-bit: does it ask for a dynamic loader (PT_INTERP)?
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        types = [struct.unpack_from("<I", head, phoff + i * phentsize)[0] for i in range(phnum)]
        if 3 in types:
            raise StackError(f"{candidate} is dynamically linked: apt-get install busybox-static")
    return candidate


def ensure_image(docker_host: str) -> bool:
    """Make sure :data:`IMAGE` exists in that engine; True when it had to be built."""
    import docker

    api: Any = None
    try:
        api = docker.APIClient(base_url=docker_host, timeout=60)
        with contextlib.suppress(docker.errors.ImageNotFound):
            api.inspect_image(IMAGE)
            return False
        busybox = _busybox()
        names = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for folder, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777)):
                info = tarfile.TarInfo(folder)
                info.type, info.mode = tarfile.DIRTYPE, mode
                tar.addfile(info)
            info = tar.gettarinfo(str(busybox.resolve()), arcname="bin/busybox")
            info.uid, info.gid, info.uname, info.gname = 0, 0, "root", "root"
            with open(busybox, "rb") as binary:
                tar.addfile(info, binary)
            for name in {*names.stdout.split(), "sh"} - {"busybox"}:
                info = tarfile.TarInfo(f"bin/{name}")
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
                tar.addfile(info)
        repository, tag = IMAGE.rsplit(":", 1)
        api.import_image_from_data(buf.getvalue(), repository=repository, tag=tag,
                                   changes=["ENV PATH=/bin", 'CMD ["sh"]'])
        api.inspect_image(IMAGE)
        return True
    except docker.errors.DockerException as exc:
        raise StackError(f"cannot make image {IMAGE} on {docker_host}: {exc}") from exc
    finally:
        if api is not None:
            api.close()
