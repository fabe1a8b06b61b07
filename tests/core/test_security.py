"""Security settings: loading (TOML, environment, ``*_file`` secrets), validation, translation into
aiokafka and Elasticsearch client arguments, and secrets never printed or logged.

The translation tests build real aiokafka clients from the options (their constructors check the
protocol and SASL mechanism) but connect nowhere; Kafka over TLS and SASL_SSL/SCRAM against a real
broker is test_kafka_security.py. The CLI tests run the real ``logfleet`` in a subprocess with a
controlled environment (no stack record) and look for the recognisable secrets in everything it
printed.
"""

from __future__ import annotations

import base64
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from logfleet.core import security
from logfleet.core.config import Settings, load_settings
from logfleet.core.errors import ConfigError
from tests.support import bare_cli, bare_env
from tests.tls import make_ca, make_server_cert

ES_PASSWORD = "pw-Platypus-4471-env"
KAFKA_PASSWORD = "pw-Echidna-8832-file"
API_KEY = "key-Numbat-2209"
SECRETS = (ES_PASSWORD, KAFKA_PASSWORD, API_KEY)




def _load(**env: str) -> Settings:
    return load_settings(env={"LOGFLEET_STACK_DIR": "/nonexistent-stack", **env})


def _assert_no_secret(*texts: str) -> None:
    for secret in SECRETS:
        for text in texts:
            assert secret not in text


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("kafka-tls")
    ca = make_ca(folder, "kafka-ca")
    cert, key = make_server_cert(folder, ca)  # stands in for a client certificate
    return {"ca": ca, "cert": cert, "key": key}


@pytest.fixture
def secret_files(tmp_path: Path) -> dict[str, Path]:
    kafka = tmp_path / "kafka_sasl_password"
    kafka.write_text(KAFKA_PASSWORD + "\n")  # secrets mounts often end with a newline
    es = tmp_path / "es_password"
    es.write_text(ES_PASSWORD)
    return {"kafka": kafka, "es": es}


# --- loading -------------------------------------------------------------------------------------


def test_defaults_are_plaintext_without_credentials() -> None:
    settings = _load()
    assert settings.kafka_security_protocol == "PLAINTEXT" and settings.kafka_sasl_mechanism == "PLAIN"
    assert settings.es_verify_certs is True
    assert security.kafka_options(settings) == {"security_protocol": "PLAINTEXT"}
    assert security.es_options(settings) == {}


def test_every_security_setting_from_toml_and_env(tmp_path: Path, tls_files: dict[str, Path]) -> None:
    config = tmp_path / "logfleet.toml"
    config.write_text(
        'kafka_security_protocol = "SASL_SSL"\n'
        'kafka_sasl_mechanism = "SCRAM-SHA-512"\n'
        'kafka_sasl_username = "shipper"\n'
        f'kafka_sasl_password = "{KAFKA_PASSWORD}"\n'
        f'kafka_ssl_cafile = "{tls_files["ca"]}"\n'
        'es_url = "https://es.example:9200"\n'
        f'es_api_key = "{API_KEY}"\n'
        "es_verify_certs = false\n"
    )
    from_file = _load(LOGFLEET_CONFIG=str(config))
    assert from_file.kafka_sasl_mechanism == "SCRAM-SHA-512" and from_file.kafka_sasl_password == KAFKA_PASSWORD
    assert from_file.es_api_key == API_KEY and from_file.es_verify_certs is False

    from_env = _load(
        LOGFLEET_CONFIG=str(config),
        LOGFLEET_KAFKA_SASL_MECHANISM="SCRAM-SHA-256",
        LOGFLEET_KAFKA_SSL_CERTFILE=str(tls_files["cert"]),
        LOGFLEET_KAFKA_SSL_KEYFILE=str(tls_files["key"]),
        LOGFLEET_ES_API_KEY="",
        LOGFLEET_ES_USERNAME="reader",
        LOGFLEET_ES_PASSWORD=ES_PASSWORD,
        LOGFLEET_ES_CA_CERTS=str(tls_files["ca"]),
        LOGFLEET_ES_VERIFY_CERTS="yes",
    )
    assert from_env.kafka_sasl_mechanism == "SCRAM-SHA-256"
    assert from_env.kafka_ssl_keyfile == str(tls_files["key"])
    assert (from_env.es_username, from_env.es_password, from_env.es_api_key) == ("reader", ES_PASSWORD, "")
    assert from_env.es_ca_certs == str(tls_files["ca"]) and from_env.es_verify_certs is True


def test_secrets_from_files_in_env_and_toml(tmp_path: Path, secret_files: dict[str, Path]) -> None:
    config = tmp_path / "logfleet.toml"
    config.write_text(
        'kafka_security_protocol = "SASL_PLAINTEXT"\nkafka_sasl_username = "shipper"\n'
        f'kafka_sasl_password_file = "{secret_files["kafka"]}"\n'
        'es_username = "old"\nes_password = "from-the-file"\n'
    )
    settings = _load(LOGFLEET_CONFIG=str(config), LOGFLEET_ES_PASSWORD_FILE=str(secret_files["es"]))
    assert settings.kafka_sasl_password == KAFKA_PASSWORD  # trailing newline dropped
    assert settings.es_password == ES_PASSWORD  # the environment's file wins over the TOML value
    assert settings.es_username == "old"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOGFLEET_KAFKA_SECURITY_PROTOCOL": "TLS"}, "'TLS' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
        (
            {"LOGFLEET_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "LOGFLEET_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"},
            "SASL_SSL with SASL mechanism SCRAM-SHA-512 needs kafka_sasl_username and kafka_sasl_password",
        ),
        (
            {"LOGFLEET_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "LOGFLEET_KAFKA_SASL_MECHANISM": "GSSAPI"},
            "'GSSAPI' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        ),
        (
            {"LOGFLEET_KAFKA_SASL_USERNAME": "u", "LOGFLEET_KAFKA_SASL_PASSWORD": KAFKA_PASSWORD},
            "kafka_sasl_username/kafka_sasl_password are set but kafka_security_protocol is PLAINTEXT",
        ),
        (
            {"LOGFLEET_KAFKA_SSL_CAFILE": "/etc/hostname"},
            "kafka_ssl_cafile set but kafka_security_protocol is PLAINTEXT",
        ),
        (
            {"LOGFLEET_KAFKA_SECURITY_PROTOCOL": "SSL", "LOGFLEET_KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"},
            "'kafka_ssl_cafile': /nonexistent/ca.pem is not a readable file",
        ),
        (
            {"LOGFLEET_ES_API_KEY": API_KEY, "LOGFLEET_ES_USERNAME": "u", "LOGFLEET_ES_PASSWORD": ES_PASSWORD},
            "es_api_key and es_username/es_password are both set",
        ),
        ({"LOGFLEET_ES_USERNAME": "u"}, "basic auth needs both es_username and es_password: es_password is not set"),
        ({"LOGFLEET_ES_PASSWORD": ES_PASSWORD}, "es_username is not set"),
        ({"LOGFLEET_ES_CA_CERTS": "/etc/hostname"}, "es_ca_certs is set but es_url is not https://"),
        (
            {"LOGFLEET_ES_URL": f"https://u:{ES_PASSWORD}@es:9200", "LOGFLEET_ES_API_KEY": API_KEY},
            "credentials are set both in es_url and in es_username/es_api_key",
        ),
        ({"LOGFLEET_ES_VERIFY_CERTS": "maybe"}, "'es_verify_certs': 'maybe' is not a bool"),
        ({"LOGFLEET_ES_PASSWORD_FILE": "/nonexistent/pw"}, "'es_password_file': cannot read /nonexistent/pw"),
        (
            {"LOGFLEET_ES_PASSWORD": ES_PASSWORD, "LOGFLEET_ES_PASSWORD_FILE": "/etc/hostname"},
            "environment: set either 'LOGFLEET_ES_PASSWORD' or 'LOGFLEET_ES_PASSWORD_FILE', not both",
        ),
    ],
)
def test_bad_combinations_are_clear_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(**env)
    assert message in str(caught.value)
    _assert_no_secret(str(caught.value))


def test_bad_combination_through_the_cli_is_exit_code_2() -> None:
    result = bare_cli("config", "show", LOGFLEET_ES_USERNAME="u", LOGFLEET_ES_PASSWORD=ES_PASSWORD,
                       LOGFLEET_ES_API_KEY=API_KEY)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "logfleet: es_api_key and es_username/es_password are both set: use one of them"
    ]


# --- translation into client arguments -----------------------------------------------------------


async def test_kafka_sasl_ssl_scram_options_build_every_client(tls_files: dict[str, Path]) -> None:
    settings = _load(
        LOGFLEET_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        LOGFLEET_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        LOGFLEET_KAFKA_SASL_USERNAME="shipper",
        LOGFLEET_KAFKA_SASL_PASSWORD=KAFKA_PASSWORD,
        LOGFLEET_KAFKA_SSL_CAFILE=str(tls_files["ca"]),
        LOGFLEET_KAFKA_SSL_CERTFILE=str(tls_files["cert"]),
        LOGFLEET_KAFKA_SSL_KEYFILE=str(tls_files["key"]),
    )
    options = security.kafka_options(settings)
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "shipper",
        "sasl_plain_password": KAFKA_PASSWORD,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "kafka-ca"),),)]

    options = security.kafka_options(settings)
    clients = [
        AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", **options),
        AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", **options),
        AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:1", **options),
    ]
    try:
        for client in clients:  # the constructors validate protocol and mechanism; nothing connects
            inner = getattr(client, "_client", None) or client.client
            assert (inner._security_protocol, inner._sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
            assert inner._sasl_plain_password == KAFKA_PASSWORD and inner._ssl_context is options["ssl_context"]
    finally:
        await clients[0].stop()
        await clients[1].stop()
        await clients[2].close()


def test_kafka_ssl_without_sasl_and_plain_sasl(tls_files: dict[str, Path]) -> None:
    tls = security.kafka_options(
        _load(LOGFLEET_KAFKA_SECURITY_PROTOCOL="SSL", LOGFLEET_KAFKA_SSL_CAFILE=str(tls_files["ca"]))
    )
    assert set(tls) == {"security_protocol", "ssl_context"} and tls["security_protocol"] == "SSL"
    plain = security.kafka_options(
        _load(
            LOGFLEET_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
            LOGFLEET_KAFKA_SASL_USERNAME="u",
            LOGFLEET_KAFKA_SASL_PASSWORD=KAFKA_PASSWORD,
        )
    )
    assert plain == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "u",
        "sasl_plain_password": KAFKA_PASSWORD,
    }


def test_kafka_tls_file_that_is_not_pem_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    settings = _load(LOGFLEET_KAFKA_SECURITY_PROTOCOL="SSL", LOGFLEET_KAFKA_SSL_CAFILE=str(bogus))
    with pytest.raises(ConfigError, match=r"Kafka TLS files .* cannot be loaded"):
        security.kafka_options(settings)


def test_es_options_headers_and_tls(tls_files: dict[str, Path]) -> None:
    https = {"LOGFLEET_ES_URL": "https://localhost:9200", "LOGFLEET_ES_CA_CERTS": str(tls_files["ca"])}
    basic = _load(**https, LOGFLEET_ES_USERNAME="reader", LOGFLEET_ES_PASSWORD=ES_PASSWORD)
    assert security.es_options(basic) == {
        "basic_auth": ("reader", ES_PASSWORD),
        "verify_certs": True,
        "ca_certs": str(tls_files["ca"]),
    }
    expected = "Basic " + base64.b64encode(f"reader:{ES_PASSWORD}".encode()).decode()
    assert security.es_headers(basic) == {"authorization": expected}
    context = security.es_ssl(basic)
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "kafka-ca"),),)]

    pair = _load(LOGFLEET_ES_API_KEY=f"id-1:{API_KEY}")
    assert security.es_options(pair) == {"api_key": ("id-1", API_KEY)}  # http: no TLS options
    encoded = base64.b64encode(f"id-1:{API_KEY}".encode()).decode()
    assert security.es_headers(pair) == {"authorization": f"ApiKey {encoded}"}
    assert security.es_ssl(pair) is None
    ready = _load(LOGFLEET_ES_API_KEY=encoded, LOGFLEET_ES_URL="https://es:9200", LOGFLEET_ES_VERIFY_CERTS="0")
    assert security.es_options(ready) == {"api_key": encoded, "verify_certs": False, "ssl_show_warn": False}
    assert security.es_headers(ready) == {"authorization": f"ApiKey {encoded}"}
    unverified = security.es_ssl(ready)
    assert unverified is not None and unverified.verify_mode == ssl.CERT_NONE


# --- secrets never printed -----------------------------------------------------------------------


def test_repr_and_redacted_mask_every_secret() -> None:
    settings = Settings(  # built directly (not a valid combination): every secret field at once
        kafka_sasl_username="u",
        kafka_sasl_password=KAFKA_PASSWORD,
        es_api_key=API_KEY,
        es_password=ES_PASSWORD,
        es_url=f"http://reader:{ES_PASSWORD}@es:9200",
    )
    text = repr(settings)
    _assert_no_secret(text, str(settings), str(settings.redacted()))
    assert "kafka_sasl_password='***'" in text and "es_api_key='***'" in text and "es_password='***'" in text
    assert "es_url='http://***@es:9200'" in text and "kafka_sasl_username='u'" in text


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_config_show_masks_secrets_from_env_and_files(fmt: str, secret_files: dict[str, Path]) -> None:
    result = bare_cli(
        "config", "show", "--format", fmt,
        LOGFLEET_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", LOGFLEET_KAFKA_SASL_USERNAME="shipper",
        LOGFLEET_KAFKA_SASL_PASSWORD_FILE=str(secret_files["kafka"]),
        LOGFLEET_ES_USERNAME="reader", LOGFLEET_ES_PASSWORD=ES_PASSWORD,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    _assert_no_secret(result.stdout, result.stderr)
    if fmt == "json":
        shown = orjson.loads(result.stdout)
        assert (shown["kafka_sasl_password"], shown["es_password"], shown["es_api_key"]) == ("***", "***", "")
        assert (shown["kafka_sasl_username"], shown["es_username"]) == ("shipper", "reader")
    else:
        assert 'kafka_sasl_password = "***"' in result.stdout and 'es_password = "***"' in result.stdout


def test_config_check_accepts_secret_file_keys(tmp_path: Path, secret_files: dict[str, Path]) -> None:
    config = tmp_path / "logfleet.toml"
    config.write_text(f'es_username = "reader"\nes_password_file = "{secret_files["es"]}"\n')
    result = bare_cli("config", "check", str(config))
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr

    config.write_text(f'es_username = "reader"\nes_password = "{ES_PASSWORD}"\nes_password_file = "/x"\n')
    both = bare_cli("config", "check", str(config))
    assert both.returncode == 2
    assert both.stderr.strip() == f"logfleet: {config}: set either 'es_password' or 'es_password_file', not both"


@pytest.mark.parametrize(
    ("args", "code"),
    [(["audit", "search"], 4), (["audit", "stats"], 4), (["setup", "kafka"], 4), (["status", "--format", "json"], 4)],
)
def test_failing_commands_never_print_secrets(args: list[str], code: int, secret_files: dict[str, Path]) -> None:
    result = bare_cli(
        *args,
        LOGFLEET_ES_URL="http://127.0.0.1:1", LOGFLEET_KAFKA_BOOTSTRAP="127.0.0.1:1",
        LOGFLEET_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", LOGFLEET_KAFKA_SASL_USERNAME="shipper",
        LOGFLEET_KAFKA_SASL_PASSWORD_FILE=str(secret_files["kafka"]),
        LOGFLEET_ES_USERNAME="reader", LOGFLEET_ES_PASSWORD_FILE=str(secret_files["es"]),
        LOGFLEET_LOG_LEVEL="debug",
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    assert "unreachable" in result.stdout + result.stderr  # it did fail to connect, and said so
    assert "Traceback" not in result.stderr
    _assert_no_secret(result.stdout, result.stderr)


def test_daemon_logs_never_contain_secrets(tmp_path: Path, secret_files: dict[str, Path]) -> None:
    log_path = tmp_path / "processor.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "logfleet", "processor", "run"],
            env=bare_env(
                LOGFLEET_KAFKA_BOOTSTRAP="127.0.0.1:1", LOGFLEET_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                LOGFLEET_KAFKA_SASL_USERNAME="shipper", LOGFLEET_KAFKA_SASL_PASSWORD_FILE=str(secret_files["kafka"]),
                LOGFLEET_ES_USERNAME="reader", LOGFLEET_ES_PASSWORD=ES_PASSWORD,
                LOGFLEET_LOG_LEVEL="debug", LOGFLEET_METRICS_PORT="0",
            ),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while log_path.read_text().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    lines = [orjson.loads(line) for line in log_path.read_text().splitlines()]
    assert any("Unable connect" in str(line.get("event")) for line in lines), lines  # it logged the failures
    _assert_no_secret(log_path.read_text())
