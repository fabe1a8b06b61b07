"""TCP ports on 127.0.0.1 for the local stack's servers: a free one, or whether a wanted one is free."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound now."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, first: int | None = None) -> list[int]:
    """``count`` distinct free ports, starting with ``first`` when it is free."""
    ports = [first] if first and port_free(first) else []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports
