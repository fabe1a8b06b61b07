"""Secret masking (processor/masking.py): no secret of the corpus in ``secrets.txt`` survives the
processor, look-alikes are left alone, and most lines never reach a regex."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from logfleet.core.errors import ConfigError
from processor.events import EventBuilder
from processor.masking import MASK, MAX_KEY_BLOCK_LINES, Masker, card_number, credential, luhn
from processor.parse import parse_line
from processor.policy import PolicyResolver
from tests.processor.mix import mix_lines

CORPUS = Path(__file__).parent / "secrets.txt"
TS = 1_709_294_400_000_000_000


def secret_rows() -> list[tuple[str, str, str]]:
    """(kind, secret, line) from secrets.txt; a line starting with a double quote is a JSON string."""
    rows = []
    for raw in CORPUS.read_text().splitlines():
        if not raw or raw.startswith("#"):
            continue
        kind, secret, line = raw.split("\t", 2)
        rows.append((kind, secret, json.loads(line) if line.startswith('"') else line))
    return rows


ROWS = secret_rows()


def record(lines: list[str], policy: str = "warn", cid: str = "c1") -> dict[str, Any]:
    return {
        "v": 1,
        "host": "h",
        "container": {"id": cid, "name": "app-1", "labels": {"logfleet.format": policy}},
        "lines": [[TS + i, 0, "stdout", text, []] for i, text in enumerate(lines)],
    }


def processed(lines: list[str], policy: str = "warn", builder: EventBuilder | None = None) -> bytes:
    """Everything the processor would send for these lines (events and dead letters)."""
    built = (builder or EventBuilder("t")).bulk_lines(record(lines, policy))
    assert built.event_count + built.dead_letter_count == len(lines)
    return built.events + built.dead_letters


def test_the_corpus_has_every_kind() -> None:
    kinds = {kind for kind, _, _ in ROWS}
    assert kinds == {
        *("url_password", "pair", "bearer", "basic_auth", "aws_key", "api_token", "jwt", "private_key", "card")
    }


@pytest.mark.parametrize(("kind", "secret", "line"), ROWS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(ROWS)])
@pytest.mark.parametrize("policy", ["warn", "strict", "off"])
def test_no_secret_survives_the_processor(kind: str, secret: str, line: str, policy: str) -> None:
    out = processed([line], policy)
    assert secret.encode() not in out
    for doc_line in out.splitlines():  # nor in any decoded string (escapes could hide it in the bytes)
        assert secret not in json.dumps(orjson.loads(doc_line), ensure_ascii=False)


@pytest.mark.parametrize(("kind", "secret", "line"), ROWS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(ROWS)])
def test_each_secret_is_counted_under_its_kind(kind: str, secret: str, line: str) -> None:
    masker = Masker()
    masker.mask_line(line, parse_line(line))
    kinds = set(masker.lines_masked)
    assert kind in kinds or (kind == "pair" and "secret_field" in kinds), kinds
    assert all(count == 1 for count in masker.lines_masked.values())


def test_what_is_kept_around_a_mask() -> None:
    masker = Masker()
    found: set[str] = set()
    assert masker.mask_text("postgres://app:pw12345@db:5432/x", found) == "postgres://app:***@db:5432/x"
    assert masker.mask_text('a password="x y" b', found) == 'a password="***" b'
    assert masker.mask_text("key AKIAIOSFODNN7EXAMPLE.", found) == "key AKIA***."
    assert masker.mask_text("card 4111-1111-1111-1111 ok", found) == "card ***1111 ok"
    assert masker.mask_text("Authorization: Bearer abcdefgh12345678", found) == "Authorization: Bearer ***"
    pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----"
    assert masker.mask_text(pem, found) == "-----BEGIN EC PRIVATE KEY-----***-----END EC PRIVATE KEY-----"
    assert found == {"url_password", "pair", "aws_key", "card", "bearer", "private_key"}


LOOKALIKES = [
    "user forgot password",
    "password reset requested for bob",
    "password= (empty) and token=",
    '{"message":"password changed","password":""}',
    '{"password": null, "token": true, "secret": false}',
    "tokens=5 max_tokens=10 tokenizer=bert",
    "secretary=jane password_policy_ok",
    "order 4111111111111112 refused",  # 16 digits, not Luhn
    "id 1709294400123456789",  # nanoseconds since the epoch, 19 digits starting with 1
    "ts=1709294400123",  # milliseconds: 13 digits starting with 1
    "call +1 555-123-4567 now",
    "2024-03-01 12:00:00,123 INFO started in 1234567 ms",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "GET http://example.com/a/b?x=1 HTTP/1.1",
    "mailto:ops@example.com and http://example.com/",
    "AKIA is a prefix; AKIAIOSFODNN7EXAMPLEX is too long",
    "the bearer of bad news",
    "-----BEGIN PUBLIC KEY-----MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE-----END PUBLIC KEY-----",
    "Asia/Tokyo ASIA region",
]


@pytest.mark.parametrize("line", LOOKALIKES)
def test_lookalikes_are_not_masked(line: str) -> None:
    masker = Masker()
    parsed = parse_line(line)
    before = orjson.dumps(parsed.fields)
    assert masker.mask_line(line, parsed) == line
    assert orjson.dumps(parsed.fields) == before
    assert not masker.lines_masked


# A key that names a secret, followed by something that is no credential: code, prose, placeholders.
PAIR_LOOKALIKES = [
    "V WindowManager: Skipping AppWindowToken{df0798e token=Token{78af589 ActivityRecord{3b04890 u0 a/.B t7}}}",
    "Cannot assign container Container: [Priority: 20, Token: Token { kind: ContainerToken, service: h:1 }, ]",
    "E0301 reflector.go:138] Failed to watch *v1.Secret: Get https://10.96.0.1:443/api/v1/secrets?limit=500",
    "password: null",
    '{"msg": "login", "password": null, "token": "", "secret": "<redacted>", "api_key": "********"}',
    "secret=<redacted> token=[FILTERED] api_key=%s password=${DB_PASSWORD} passwd=$PASSWD",
    "Password: ******",
    "the token is invalid",
    "password reset requested for user bob",
    "token: expired, password: incorrect",
    "W ActivityManager: Bad activity token: android.os.BinderProxy@2bd79ce",
    "UserEventAgent: Could not get event name for stream/token: com.apple.xpc.activity/4505: 132: stale data",
    'chpasswd[30938]: pam_unix(chpasswd:chauthtok): user "bob" does not exist in /etc/passwd',
    "gdm-password][1600]: pam_unix(gdm-password:session): session opened for user bob",
    "login password:changeme",  # unquoted after a colon, a plain word is no credential
    '{"email": "bob@example.com", "password": "__REDACTED__", "token": "[REDACTED]"}',
    "sudo: ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/usr/bin/apt",
    "reading token: /var/run/secrets/kubernetes.io/serviceaccount/token",
    "mounted secret: my-app-secret",
    "Authorization: Bearer token-not-set",
    'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
    "Authorization: Basic realm",
    "connect postgres://app:${DB_PASSWORD}@db/shop and redis://u:***@cache:6379",
]


@pytest.mark.parametrize("line", PAIR_LOOKALIKES)
def test_pairs_whose_value_is_no_credential_are_kept(line: str) -> None:
    masker = Masker()
    parsed = parse_line(line)
    before = orjson.dumps(parsed.fields)
    assert masker.mask_line(line, parsed) == line
    assert orjson.dumps(parsed.fields) == before
    assert not masker.lines_masked


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("password=hunter2", "password=***"),
        ("login password=changeme user=bob", "login password=*** user=bob"),
        ("password: hunter2", "password: ***"),
        ("auth failed (given password: Password123$)", "auth failed (given password: ***)"),
        ("password = hunter2.", "password = ***."),
        ('"password" => "pa$$word"', '"password" => "***"'),
        ("MYSQL_ROOT_PASSWORD=s3cr3t", "MYSQL_ROOT_PASSWORD=***"),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=***"),
        ("SECRET_KEY=django-insecure-4x7!k", "SECRET_KEY=***"),
        ("accessToken=9f8e7d6c5b4a3f2e", "accessToken=***"),
        ("POST /account oldpassword=hunter2&newpassword=hunter3", "POST /account oldpassword=***&newpassword=***"),
        ('{"clientSecret":"abcDEF123"}', '{"clientSecret":"***"}'),
        ("X-Auth-Token: 2f7c1a9e-5b3d-4e8f-9a1c-0d6e2b4f8a7c", "X-Auth-Token: ***"),
        ('"api_key": "AKIAIOSFODNN7EXAMPLE"', '"api_key": "***"'),
        ('{"user":"bob","password":12345}', '{"user":"bob","password":***}'),
        ("GET /hook?token=tok_8c1d55aa&page=2", "GET /hook?token=***&page=2"),
        ('db_password: "correct horse battery staple"', 'db_password: "***"'),
    ],
)
def test_pairs_whose_value_is_a_credential_are_masked(line: str, masked: str) -> None:
    found: set[str] = set()
    assert Masker().mask_text(line, found) == masked
    assert found == {"pair"}


def test_what_a_credential_looks_like() -> None:
    assert credential("hunter2", password=True)
    assert credential("changeme", password=True)
    assert not credential("changeme")  # a token or a secret is no plain word
    assert credential("tok_9f8e7d6c5b4a") and credential("9876543210123")
    assert credential("kXbQzPwRtYmNvLsJhGfD")  # letters only, but a random mix of cases
    assert not credential("ContainerTokenIdentifier")
    assert credential("hunter2", password=True, loose=True)  # password: hunter2
    assert not credential("Get", password=True, loose=True)  # Password: Get https://...
    for placeholder in ["null", "None", "true", "***", "xxxxxxxx", "<redacted>", "[FILTERED]", "${SECRET}", "%s"]:
        assert not credential(placeholder, password=True)
    for other in ["android.os.BinderProxy@2bd79ce", "/etc/passwd", "https://example.com/x1", "2024-03-01"]:
        assert not credential(other)


def test_a_header_with_basic_credentials_is_masked_only_when_they_decode_to_user_and_password() -> None:
    found: set[str] = set()
    masker = Masker()
    assert masker.mask_text("Authorization: Basic dXNlcjpwYXNz", found) == "Authorization: Basic ***"
    assert masker.mask_text("Authorization: Basic YWxhZGRpbg==", found) == "Authorization: Basic YWxhZGRpbg=="
    assert found == {"basic_auth"}


@pytest.mark.parametrize(
    ("line", "masked", "kind"),
    [
        ("clone o/r ghp_R8x2Kq9LmZ4tW7yB3nV6cP1sD5fH0jG2aE8u ok", "clone o/r ghp_*** ok", "api_token"),
        ('{"t":"xoxp-2048163527-4096327054321-Zq8Yw7Xv6Ut5Sr4Q"}', '{"t":"xoxp-***"}', "api_token"),
        ("key sk_live_51Hq7Zx2eZvKYlo2C0a1b2c3d4e5,", "key sk_live_***,", "api_token"),
        ("npm_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2", "npm_***", "api_token"),
        ("id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlF end", "id *** end", "jwt"),
        ("unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0In0.", "unsigned ***", "jwt"),
        ("aws AKIAIOSFODNN7EXAMPLE", "aws AKIA***", "aws_key"),
    ],
)
def test_known_token_formats_are_masked_wherever_they_appear(line: str, masked: str, kind: str) -> None:
    found: set[str] = set()
    assert Masker().mask_text(line, found) == masked
    assert found == {kind}


TOKEN_LOOKALIKES = [
    "sk_test_environment ready, npm_install_timeout=30 task_test_results ghp_short",
    "publishable pk_live_51Hq7Zx2eZvKYlo2C0a1b2c3d4e5 is no secret",
    "xoxb-placeholder-token-here and eyJ alone and eyJhbGciOiJIUzI1NiJ9 without payload",
    "branch gh_pages_2024_build and my_github_pat_env",
]


@pytest.mark.parametrize("line", TOKEN_LOOKALIKES)
def test_token_lookalikes_are_kept(line: str) -> None:
    found: set[str] = set()
    assert Masker().mask_text(line, found) == line
    assert not found


# Numbers that hold a Luhn-valid run of digits but are no card: identifiers, timestamps, counters.
CARD_LOOKALIKES = [
    "INFO dfs.DataNode$PacketResponder: PacketResponder 0 for block blk_-4532015112830366 terminating",
    "INFO dfs.FSDataset: Deleting block blk_4532015112830366 file /data/current/blk_4532015112830366",
    "ratio 1.4532015112830366 after 3 rounds",
    "seen id4532015112830366 and 4532015112830366x and 4532015112830366_1",
    "v=4532015112830366.7 +4532015112830366",
    "01-17 09:21:44.531 1702 1820 I ActivityManager: Start proc",
    "03-17 16:14:22.502 28601 28601 V AudioManager: playSoundEffect",
    "REPORT : 7024 5015 150454 240",
    "counts 1 4111 1111 1111 1111 and 4111 1111 1111 1111 2",  # a row of numbers
    "4111-1111 1111-1111 mixed separators",
    "4111  1111  1111  1111 double spaces",
    "offset 5555555555554444000",  # Luhn-valid, but Mastercard numbers have 16 digits
    "epoch 1709294400123452 and 2721294400123454",  # Luhn-valid, but no issuer has these prefixes
]


@pytest.mark.parametrize("line", CARD_LOOKALIKES)
def test_numbers_that_are_no_card_are_kept(line: str) -> None:
    found: set[str] = set()
    assert Masker().mask_text(line, found) == line
    assert not found


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("card 4111 1111 1111 1111 ok", "card ***1111 ok"),
        ("card 4111-1111-1111-1111.", "card ***1111."),
        ("paid with 4532015112830366.", "paid with ***0366."),
        ('{"pan":"4532015112830366"}', '{"pan":"***0366"}'),
        ("pan=5555555555554444&x=1", "pan=***4444&x=1"),
        ("amex 3782 822463 10005 ok", "amex ***0005 ok"),
        ("amex 378282246310005", "amex ***0005"),
        ("diners 30569309025904 jcb 3530111333300000", "diners ***5904 jcb ***0000"),
        ("unionpay 6200000000000005 mc2 2223003122003222", "unionpay ***0005 mc2 ***3222"),
        ("(4222222222222)", "(***2222)"),
    ],
)
def test_card_numbers_where_a_card_can_stand_are_masked(line: str, masked: str) -> None:
    found: set[str] = set()
    assert Masker().mask_text(line, found) == masked
    assert found == {"card"}


def test_card_number_needs_an_issuer_prefix_and_length() -> None:
    assert card_number("4111111111111111")
    assert card_number("378282246310005")
    assert not card_number("3782822463100050")  # Amex has 15 digits
    assert not card_number("5555555555554444000")  # Mastercard has 16
    assert not card_number("1234567812345670")  # Luhn-valid, but no issuer starts with 1
    assert not card_number("7111111111111114")


def test_luhn() -> None:
    assert luhn("4111111111111111")
    assert luhn("79927398713")
    assert not luhn("4111111111111112")
    assert not luhn("79927398710")


def test_a_key_printed_line_by_line_is_masked_until_its_end() -> None:
    builder = EventBuilder("t")
    lines = [
        "loading key",
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEAsecretline1",
        "Q2xpZW50S2V5c2VjcmV0bGluZTI=",
        "-----END RSA PRIVATE KEY-----",
        "key loaded",
    ]
    out = processed(lines[:3], builder=builder) + processed(lines[3:], builder=builder)  # across records
    assert b"secretline1" not in out and b"bGluZTI=" not in out
    messages = [orjson.loads(line).get("message") for line in out.splitlines()[1::2]]
    assert messages == [
        "loading key",
        "-----BEGIN RSA PRIVATE KEY-----",
        MASK,
        MASK,
        MASK + "-----END RSA PRIVATE KEY-----",
        "key loaded",
    ]


def test_an_unterminated_key_block_stops_masking_after_a_bound() -> None:
    lines = ["-----BEGIN PRIVATE KEY-----"] + [f"line {i}" for i in range(MAX_KEY_BLOCK_LINES + 5)]
    out = processed(lines)
    messages = [orjson.loads(line).get("message") for line in out.splitlines()[1::2]]
    assert messages[1 : MAX_KEY_BLOCK_LINES + 1] == [MASK] * MAX_KEY_BLOCK_LINES
    assert messages[MAX_KEY_BLOCK_LINES + 1 :] == [
        f"line {i}" for i in range(MAX_KEY_BLOCK_LINES, MAX_KEY_BLOCK_LINES + 5)
    ]


def test_blocks_are_followed_per_container() -> None:
    builder = EventBuilder("t")
    first = builder.bulk_lines(record(["-----BEGIN PRIVATE KEY-----"], cid="a"))
    other = builder.bulk_lines(record(["not key material"], cid="b"))
    assert first.event_count == 1
    assert b"not key material" in other.events


def test_custom_patterns_mask_their_secret_group_or_the_whole_match() -> None:
    masker = Masker(r"employee-(?P<secret>\d{6})|SSN \d{3}-\d{2}-\d{4}")
    found: set[str] = set()
    assert masker.mask_text("badge employee-123456 and SSN 078-05-1120", found) == "badge employee-*** and ***"
    assert found == {"custom"}
    builder = EventBuilder("t", masker=Masker(r"internal-[a-z]{8}"), policies=PolicyResolver("off"))
    assert b"internal-abcdefgh" not in processed(['{"msg":"x","v":"internal-abcdefgh"}'], builder=builder)


def test_a_bad_custom_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="mask_patterns"):
        Masker("(unclosed")


def test_event_original_keeps_the_masked_line() -> None:
    out = processed(['{"message":"login","password":"pw-123456"}'])
    event = orjson.loads(out.splitlines()[1])
    assert event["event"]["original"] == '{"message":"login","password":"***"}'
    assert event["app"]["password"] == MASK


def test_escaped_secrets_in_json_reencode_the_original() -> None:
    out = processed(['{"msg":"login","\\u0070assword":"pw-7654321"}'])
    event = orjson.loads(out.splitlines()[1])
    assert event["event"]["original"] == '{"msg":"login","password":"***"}'


def test_most_lines_of_the_realistic_mix_never_reach_a_regex() -> None:
    masker = Masker()
    lines = mix_lines(5000)
    flagged = [line for line in lines if masker.triggers(line)]
    assert len(flagged) < len(lines) * 0.02, flagged[:5]
