"""Which enforcement policy applies to a container: ``strict``, ``warn`` or ``off``.

The container label ``logfleet.format`` decides first (so a team opts in or out in its own Compose
file); then the per-service setting ``format_policy_services`` (``"billing=strict,legacy=off"``, keyed
by the Compose service, or the container name when there is none); then ``format_policy`` (default
``warn``). A label with another value is ignored (counted in :attr:`PolicyResolver.bad_labels`) and
the configuration decides.

- ``strict``: a line that does not say when, how bad, what or who (an essential reason of
  ``processor/enforce.py``) becomes a dead letter, not an event; other departures from the canonical
  form are listed in ``logfleet.violations`` and the line is indexed;
- ``warn``: every line is indexed as usual, with its reasons in ``logfleet.violations``;
- ``off``: lines are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from logfleet.core.errors import ConfigError

POLICIES: Final = ("strict", "warn", "off")
LABEL: Final = "logfleet.format"


def parse_services(spec: str) -> dict[str, str]:
    """``"svc=strict, svc2=off"`` as a dict; raises ConfigError on a malformed entry or policy."""
    out: dict[str, str] = {}
    for entry in spec.split(","):
        entry = entry.strip()
        if not entry:
            continue
        service, sep, policy = entry.partition("=")
        service, policy = service.strip(), policy.strip().lower()
        if not sep or not service:
            raise ConfigError(f"format_policy_services: {entry!r} is not service=policy")
        if policy not in POLICIES:
            raise ConfigError(f"format_policy_services: {policy!r} for {service!r} is not one of {', '.join(POLICIES)}")
        out[service] = policy
    return out


class PolicyResolver:
    """Resolves the policy of a container from its labels and service name."""

    def __init__(self, default: str = "warn", services: str = "") -> None:
        default = default.strip().lower()
        if default not in POLICIES:
            raise ConfigError(f"format_policy: {default!r} is not one of {', '.join(POLICIES)}")
        self.default = default
        self.services = parse_services(services)
        self.bad_labels = 0

    def resolve(self, labels: Mapping[str, Any] | None, service: str) -> str:
        """The policy for a container with these labels whose service (or name) is ``service``."""
        if labels:
            value = labels.get(LABEL)
            if value is not None:
                policy = str(value).strip().lower()
                if policy in POLICIES:
                    return policy
                self.bad_labels += 1
        return self.services.get(service, self.default)
