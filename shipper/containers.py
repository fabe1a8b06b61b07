"""Container metadata and selection: which containers the shipper follows, and what it says of them.

Metadata comes from one ``inspect`` per container, never per line. Include and exclude rules match
names, images and labels; a container opts out with the label ``logfleet.enable=false``; the
shipper never follows itself (its own container id is found in ``/proc/self/mountinfo`` or given
as ``LOGFLEET_SELF_CONTAINER_ID``).
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Any

from logfleet.core.errors import ConfigError
from logfleet.core.model import ContainerMeta

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


class Selector:
    """Decides which containers the shipper follows.

    ``include`` and ``exclude`` are comma-separated rules ``name:GLOB``, ``image:GLOB`` or
    ``label:KEY=GLOB``. With include rules a container must match one; a container matching an
    exclude rule, carrying ``logfleet.enable=false``, or being the shipper itself is never followed.
    """

    def __init__(self, include: str = "", exclude: str = "", self_id: str | None = None) -> None:
        self.include = _rules(include)
        self.exclude = _rules(exclude)
        self.self_id = self_id

    def selects(self, container_id: str, name: str, image: str, labels: dict[str, str]) -> bool:
        """Whether to follow the container described."""
        if self.self_id and container_id.startswith(self.self_id):
            return False
        if labels.get(OPT_OUT_LABEL, "true").lower() in ("false", "0", "no"):
            return False
        facts = (name.lstrip("/"), image, labels)
        if self.include and not any(_matches(rule, *facts) for rule in self.include):
            return False
        return not any(_matches(rule, *facts) for rule in self.exclude)


def _rules(text: str) -> list[tuple[str, str]]:
    rules = []
    for raw in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, pattern = raw.partition(":")
        if not sep or kind not in ("name", "image", "label"):
            raise ConfigError(f"selection rule {raw!r}: use name:GLOB, image:GLOB or label:KEY=GLOB")
        rules.append((kind, pattern))
    return rules


def _matches(rule: tuple[str, str], name: str, image: str, labels: dict[str, str]) -> bool:
    kind, pattern = rule
    if kind == "name":
        return fnmatch.fnmatchcase(name, pattern)
    if kind == "image":
        return fnmatch.fnmatchcase(image, pattern)
    key, _, value = pattern.partition("=")
    return key in labels and fnmatch.fnmatchcase(labels[key], value or "*")
