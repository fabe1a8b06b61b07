"""Kafka over TLS and SASL_SSL + SCRAM-SHA-512 with ACLs, against a real Apache Kafka broker (issue 11).

The module starts its own broker (one combined KRaft node) with three listeners: PLAINTEXT on
loopback for the operator (a super user: it creates topics and ACLs), SSL, and SASL_SSL with
SCRAM-SHA-512; Kafka's StandardAuthorizer denies what no ACL allows. A throwaway CA and the
broker's certificate are made here with ``openssl`` (the broker reads them as a PEM keystore); the
users are created when the storage is formatted. Each role gets exactly the ACLs SECURITY.md gives
it, with the same command (``kafka-acls``, i.e. ``org.apache.kafka.tools.AclCommand``):

- the whole pipeline runs with each part's own credentials, and every line arrives;
- the shipper's credentials cannot read the events topic: the indexer run with them ends with exit
  code 5 and one line saying Kafka refused it;
- a wrong password ends with exit code 5 and one line; a CA that did not sign the broker's
  certificate ends with exit code 4 and one line, over SSL and over SASL_SSL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.daemon import Indexer
from logfleet.core.config import Settings
from logfleet.devstack import kafka_node
from logfleet.devstack.ports import free_port
from processor.daemon import Processor
from shipper.daemon import Shipper
from tests.support import cli_env, docs_reach, running, start_container, wait_for
from tests.tls import make_ca, make_server_cert

pytestmark = [pytest.mark.servers]

PASSWORDS = {"admin": "adm-Numbat-2291", "shipper": "shp-Quoll-8813", "processor": "prc-Bilby-4470",
             "indexer": "idx-Dingo-6632"}
ACL_COMMAND = "org.apache.kafka.tools.AclCommand"


@dataclasses.dataclass
class SecureBroker:
    """The module's broker: its listeners, CA files and the names its ACLs were given for."""

    node: kafka_node.Node
    pid: int
    plain: str
    ssl: str
    sasl_ssl: str
    ca: Path
    wrong_ca: Path
    tag: str

    def acl(self, *args: str) -> None:
        kafka_node.run_tool(ACL_COMMAND, ["--bootstrap-server", self.plain, "--add", *args], "adding ACLs")


def grant_roles(broker: SecureBroker, settings: Settings) -> None:
    """The ACLs of SECURITY.md, for this module's topic and group names."""
    raw, events, dlq = settings.topic_raw, settings.topic_events, settings.topic_dlq
    broker.acl("--allow-principal", "User:shipper", "--operation", "Write", "--operation", "Describe",
               "--topic", raw)
    broker.acl("--allow-principal", "User:processor", "--operation", "Read", "--operation", "Describe",
               "--topic", raw, "--group", settings.processor_group)
    broker.acl("--allow-principal", "User:processor", "--operation", "Write", "--operation", "Describe",
               "--topic", events, "--topic", dlq)
    broker.acl("--allow-principal", "User:indexer", "--operation", "Read", "--operation", "Describe",
               "--topic", events, "--topic", dlq, "--group", settings.indexer_group)


@pytest.fixture(scope="module")
def broker() -> Iterator[SecureBroker]:
    folder = Path(tempfile.mkdtemp(prefix="lfsec", dir="/tmp"))
    certs = folder / "certs"
    ca = make_ca(certs, "ca")
    cert, key = make_server_cert(certs, ca)
    keystore = certs / "broker-keystore.pem"
    keystore.write_text(key.read_text() + cert.read_text())
    wrong_ca = make_ca(folder / "other", "other-ca")
    ssl_port, sasl_port = free_port(), free_port()
    listeners = (kafka_node.Listener("SSL", "SSL", ssl_port), kafka_node.Listener("SASL_SSL", "SASL_SSL", sasl_port))
    nodes = kafka_node.plan(folder / "kafka", [free_port(), free_port()], 1, listeners)
    extra = {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore),
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        # the operator's loopback PLAINTEXT listener and the node's own controller traffic
        "super.users": "User:ANONYMOUS;User:admin",
    }
    pids = kafka_node.start_cluster(nodes, extra, PASSWORDS)
    node = nodes[0]
    made = SecureBroker(node, pids[node.node_id], node.address, f"127.0.0.1:{ssl_port}",
                        f"127.0.0.1:{sasl_port}", ca, wrong_ca, uuid.uuid4().hex[:8])
    try:
        yield made
    finally:
        kafka_node.stop(made.pid, node, grace=5)


def as_user(settings: Settings, broker: SecureBroker, user: str, password: str | None = None) -> Settings:
    """``settings`` connecting to the SASL_SSL listener as ``user``."""
    return dataclasses.replace(
        settings, kafka_bootstrap=broker.sasl_ssl, kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username=user,
        kafka_sasl_password=PASSWORDS[user] if password is None else password, kafka_ssl_cafile=str(broker.ca))


def kafka_env(settings: Settings) -> dict[str, str]:
    """The CLI's environment for ``settings``, Kafka security included."""
    return {**cli_env(settings), "LOGFLEET_KAFKA_SECURITY_PROTOCOL": settings.kafka_security_protocol,
            "LOGFLEET_KAFKA_SASL_MECHANISM": settings.kafka_sasl_mechanism,
            "LOGFLEET_KAFKA_SASL_USERNAME": settings.kafka_sasl_username,
            "LOGFLEET_KAFKA_SASL_PASSWORD": settings.kafka_sasl_password,
            "LOGFLEET_KAFKA_SSL_CAFILE": settings.kafka_ssl_cafile}


def cli(settings: Settings, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "logfleet", *args], env=kafka_env(settings),
                          capture_output=True, text=True, timeout=timeout, check=False)


def errors_said(stderr: str) -> list[str]:
    """The lines a command said as ``logfleet: ...`` (a daemon's JSON self-log lines aside)."""
    return [line for line in stderr.splitlines() if not line.startswith("{")]


@pytest.fixture
async def secure_settings(pipeline_settings: Settings, broker: SecureBroker) -> Settings:
    """The test's topics created over SASL_SSL by the admin user, and the roles' ACLs on them."""
    admin = as_user(pipeline_settings, broker, "admin")
    created = await asyncio.to_thread(cli, admin, "setup", "kafka")
    assert created.returncode == 0, created.stderr
    assert f"kafka: created topic {admin.topic_raw}" in created.stdout
    await asyncio.to_thread(grant_roles, broker, admin)
    return admin


async def test_the_pipeline_runs_with_each_parts_own_credentials(
    secure_settings: Settings, broker: SecureBroker
) -> None:
    shipper = as_user(secure_settings, broker, "shipper")
    processor = as_user(secure_settings, broker, "processor")
    indexer = as_user(secure_settings, broker, "indexer")
    container = start_container(shipper, "seq 1 500 | sed 's/^/secure line /'")
    async with running(Shipper(shipper), Processor(processor), Indexer(indexer)):
        stored = await wait_for(lambda: docs_reach(secure_settings, 500), within=120, interval=1)
    container.remove(force=True)
    assert stored == 500


async def test_the_shippers_credentials_cannot_read_the_events_topic(
    secure_settings: Settings, broker: SecureBroker
) -> None:
    shipper = as_user(secure_settings, broker, "shipper")
    result = await asyncio.to_thread(cli, shipper, "indexer", "run")
    assert result.returncode == 5, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    said = errors_said(result.stderr)
    assert len(said) == 1, said
    assert said[0].startswith(f"logfleet: Kafka at {broker.sasl_ssl} refused user 'shipper'"), said
    assert "Authorization" in said[0] and "ACLs do not allow this" in said[0], said


async def test_a_wrong_password_ends_with_exit_code_5_and_one_line(
    pipeline_settings: Settings, broker: SecureBroker
) -> None:
    settings = as_user(pipeline_settings, broker, "shipper", password="not-the-password")
    result = await asyncio.to_thread(cli, settings, "setup", "kafka")
    assert result.returncode == 5, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"logfleet: Kafka at {broker.sasl_ssl} refused the credentials of user 'shipper' (SCRAM-SHA-512): "
        "[Error 58] SaslAuthenticationFailed: Authentication failed during authentication due to invalid "
        "credentials with SASL mechanism SCRAM-SHA-512"]
    assert "not-the-password" not in result.stdout + result.stderr


@pytest.mark.parametrize("listener", ["SSL", "SASL_SSL"])
async def test_a_wrong_ca_ends_with_exit_code_4_and_one_line(
    pipeline_settings: Settings, broker: SecureBroker, listener: str
) -> None:
    settings = as_user(pipeline_settings, broker, "admin")
    address = broker.ssl if listener == "SSL" else broker.sasl_ssl
    trusted = dataclasses.replace(settings, kafka_bootstrap=address, kafka_security_protocol=listener)
    if listener == "SSL":
        trusted = dataclasses.replace(trusted, kafka_sasl_username="", kafka_sasl_password="")
    works = await asyncio.to_thread(cli, trusted, "setup", "kafka")
    assert works.returncode == 0, works.stderr  # the right CA: the same listener answers
    wrong = dataclasses.replace(trusted, kafka_ssl_cafile=str(broker.wrong_ca))
    result = await asyncio.to_thread(cli, wrong, "setup", "kafka")
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"logfleet: Kafka at {address}: its TLS certificate is not trusted (unable to get local issuer "
        "certificate); check kafka_ssl_cafile"]

