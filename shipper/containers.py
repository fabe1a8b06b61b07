"""Container metadata and selection: which containers the shipper follows, and what it says of them.

Metadata comes from one ``inspect`` per container, never per line. A container opts out with the
label ``logfleet.enable=false``; the shipper never follows itself (its own container id is found in
``/proc/self/mountinfo`` or given as ``LOGFLEET_SELF_CONTAINER_ID``).
"""

from __future__ import annotations

import os
import re
from typing import Any

from logfleet.model import ContainerMeta

OPT_OUT_LABEL = "logfleet.enable"
_CONTAINER_ID = re.compile(r"/containers/([0-9a-f]{64})/")


def meta_from_inspect(info: dict[str, Any]) -> ContainerMeta:
    """Build :class:`ContainerMeta` from a ``GET /containers/{id}/json`` answer."""
    config = info.get("Config") or {}
    labels = dict(config.get("Labels") or {})
    image = str(config.get("Image") or info.get("Image") or "")
    name_part, _, tag = image.rpartition(":")
    if not name_part or "/" in tag:
        name_part, tag = image, ""
    return ContainerMeta(
        id=str(info["Id"]),
        name=str(info.get("Name", "")).lstrip("/"),
        image=name_part,
        image_tag=tag,
        labels=labels,
        compose_project=labels.get("com.docker.compose.project", ""),
        compose_service=labels.get("com.docker.compose.service", ""),
        tty=bool(config.get("Tty")),
    )


def own_container_id() -> str | None:
    """The id of the container this process runs in, or None on a plain host."""
    explicit = os.environ.get("LOGFLEET_SELF_CONTAINER_ID")
    if explicit:
        return explicit
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            match = _CONTAINER_ID.search(fh.read())
    except OSError:
        return None
    return match.group(1) if match else None


def is_selected(labels: dict[str, str], container_id: str, self_id: str | None) -> bool:
    """Whether the shipper should follow a container with these labels."""
    if self_id and container_id.startswith(self_id):
        return False
    return labels.get(OPT_OUT_LABEL, "true").lower() not in ("false", "0", "no")
