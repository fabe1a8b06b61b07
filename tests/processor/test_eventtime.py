"""The time a line states (processor/parse/eventtime.py): every format it reads, to the nanosecond, the
year of year-less formats, and when a stated time is refused as ``@timestamp``."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor.parse.eventtime import IN_FUTURE, NS, TOO_OLD, UNPARSABLE, rejection, stated_time_ns

# 2026-12-03T05:54:01Z, the moment most cases state; Docker received the line 2 s later.
AT = calendar.timegm((2026, 12, 3, 5, 54, 1)) * NS
DOCKER = AT + 2 * NS
MS, US = 1_000_000, 1_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 3339 / ISO 8601, every fraction width, zones written every way
        ("2026-12-03T05:54:01.123456789Z", AT + 123_456_789),
        ("2026-12-03T05:54:01.1Z", AT + 100 * MS),
        ("2026-12-03T05:54:01Z", AT),
        ("2026-12-03T05:54:01", AT),
        ("2026-12-03T05:54:01.123", AT + 123 * MS),
        ("2026-12-03T05:54:01.1234567891234Z", AT + 123_456_789),  # cut after nine digits
        ("2026-12-03T05:54:01.8532799Z", AT + 853_279_900),  # .NET and Serilog: seven digits
        ("2026-12-03T05:54:01.000+00:00", AT),
        ("2026-12-03T05:54:01+0000", AT),
        ("2026-12-03T13:54:01.061+0800", AT + 61 * MS),  # ecs-logging-go (logrus, zerolog) docs
        ("2026-12-03T00:24:01-05:30", AT),
        ("2026-12-03T06:54:01+01", AT),
        ("2026-12-03t05:54:01z", AT),
        ("2026-12-03 05:54:01", AT),
        ("2026-12-03 05:54:01.123", AT + 123 * MS),
        ("2026-12-03 05:54:01,123", AT + 123 * MS),  # Java and Python logging
        ("2026-12-03 05:54:01.123 UTC", AT + 123 * MS),  # PostgreSQL
        ("2026-12-03 05:54:01 GMT", AT),
        ("2026-12-03 00:54:01.5 -0500 EST", AT + 500 * MS),  # Go time.String()
        ("2026-12-03 07:54:01.123456+02:00", AT + 123_456 * US),  # Python datetime str() (loguru)
        ("  2026-12-03T05:54:01Z ", AT),
        # epoch numbers and digit strings, the unit by magnitude
        (1796277241, AT),
        (1796277241.25, AT + 250 * MS),
        (1796277241123, AT + 123 * MS),
        (1796277241123.5, AT + 123 * MS + 500 * US),
        (1796277241123456, AT + 123_456 * US),
        (1796277241123456789, AT + 123_456_789),
        (1.796277241123456789e18, AT + 123_456_768),  # a float cannot hold more
        ("1796277241", AT),
        ("1796277241.123456", AT + 123_456 * US),
        ("1796277241123", AT + 123 * MS),
        ("1796277241123456789", AT + 123_456_789),
        # other text formats
        ("03/Dec/2026:05:54:01 +0000", AT),
        ("03/Dec/2026:06:54:01 +0100", AT),
        ("2026/12/03 05:54:01", AT),
        ("2026/12/03 05:54:01.123456", AT + 123_456 * US),
        ("03 Dec 2026 05:54:01.123", AT + 123 * MS),
        ("Thu Dec 03 05:54:01.123456 2026", AT + 123_456 * US),
        ("Thu Dec  3 05:54:01 2026", AT),
        # without a year: the year closest to Docker's time
        ("Dec  3 05:54:01", AT),
        ("Dec 3 05:54:01.250", AT + 250 * MS),
        ("1203 05:54:01.123456", AT + 123_456 * US),
        ("I1203 05:54:01.123456", AT + 123_456 * US),
        ("12-03 05:54:01.123", AT + 123 * MS),
    ],
)
def test_formats(value: str | int | float, expected: int) -> None:
    assert stated_time_ns(value, DOCKER) == expected
    assert stated_time_ns(value, DOCKER) == expected  # again, from the cache of known seconds


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "09:08:33 ",  # .NET console JSON with TimestampFormat "hh:mm:ss ": no day
        "2026-02-30T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-12-03T24:00:00Z",
        "2026-12-03T05:60:00Z",
        "2026-12-03T05:54:60Z",  # leap seconds are not accepted
        "2026-12-03T05:54:01.Z",
        "2026-12-03T05:54:01+25:00",
        "2026-12-03 05:54:01 CET",  # a zone name is not an offset
        "2026-12-03T05:54:01.\uff11\uff12\uff13Z",  # fullwidth digits
        "\uff12\uff10\uff12\uff16-12-03T05:54:01Z",
        "32/Dec/2026:05:54:01 +0000",
        "29/Feb/2026:05:54:01 +0000",
        "03/Dek/2026:05:54:01 +0000",
        "03/Dec/2026:24:00:00 +0000",
        "03/Dec/2026:05:54:60 +0000",
        "03/Dec/2026:05:54:01 +2500",
        "03/Dec/2026:05:54:01 *0000",
        "03/Dec/2026 05:54:01 +0000",
        "03/Dec/2026:05-54:01 +0000",
        "03/Dec/2026:05:54:0\uff11 +0000",
        "Feb 30 05:54:01",
        "13-03 05:54:01.123",
        "Dec  3 05:54",
        0,
        -1796277241,
        "0",
        True,
        float("nan"),
        float("inf"),
    ],
)
def test_what_is_not_a_time(value: object) -> None:
    assert stated_time_ns(value, DOCKER) is None  # type: ignore[arg-type]
    assert stated_time_ns(value, DOCKER) is None  # type: ignore[arg-type]


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2262, 1, 1)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
def test_access_log_times_to_the_second(moment: datetime, offset_minutes: int) -> None:
    """The access log form is read by position, its day once per day: the same as datetime reads it."""
    zone = timezone(timedelta(minutes=offset_minutes))
    local = moment.replace(microsecond=0, tzinfo=zone)
    written = local.strftime("%d/%b/%Y:%H:%M:%S %z")
    expected = calendar.timegm(local.utctimetuple()) * NS
    assert stated_time_ns(written, DOCKER) == expected
    assert stated_time_ns(written, DOCKER) == expected  # the day from the cache


DATE_NANOS_END = 2**63 - 1  # 2262-04-11T23:47:16.854775807Z, the last instant Elasticsearch's date_nanos holds


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1969-12-31T23:59:59Z", TOO_OLD),
        ("0001-01-01T00:00:00.1Z", TOO_OLD),
        ("2262-04-11T23:47:16.854775808Z", IN_FUTURE),
        ("2999-01-01T00:00:00Z", IN_FUTURE),
        (10**30, IN_FUTURE),
    ],
)
def test_times_outside_date_nanos_are_read_and_refused_as_timestamps(value: str | int, reason: str) -> None:
    stated = stated_time_ns(value, DOCKER)
    assert stated is not None and not 0 <= stated <= DATE_NANOS_END
    assert rejection(stated, DOCKER, 300 * NS, 30 * 86_400 * NS) == reason


@pytest.mark.parametrize(
    ("value", "docker", "year"),
    [
        ("Dec 31 23:59:59", datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC), 2026),  # written just before New Year
        ("Jan  1 00:00:01", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), 2027),  # a clock a little ahead
        ("Jun 15 12:00:00", datetime(2026, 12, 3, tzinfo=UTC), 2026),
        ("Jul 20 12:00:00", datetime(2027, 1, 3, tzinfo=UTC), 2026),
        ("Jun  1 12:00:00", datetime(2027, 1, 3, tzinfo=UTC), 2027),  # 149 days ahead beats 216 behind
        ("Feb 29 12:00:00", datetime(2027, 1, 3, tzinfo=UTC), 2028),  # only a leap year has the day
        ("0229 12:00:00.5", datetime(2025, 1, 3, tzinfo=UTC), 2024),
        ("12-31 23:59:59.999", datetime(2027, 1, 1, tzinfo=UTC), 2026),
    ],
)
def test_a_year_less_time_takes_the_closest_year(value: str, docker: datetime, year: int) -> None:
    stated = stated_time_ns(value, int(docker.timestamp()) * NS)
    assert stated is not None
    assert datetime.fromtimestamp(stated // NS, UTC).year == year


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES),
    st.integers(0, 999),
    st.sampled_from(["T", " "]),
    st.sampled_from([":", ""]),
)
def test_iso_8601_to_the_nanosecond(moment: datetime, nanos: int, separator: str, colon: str) -> None:
    offset = int((moment.utcoffset() or timedelta()).total_seconds()) // 60
    zone = f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}{colon}{abs(offset) % 60:02d}"
    text = f"{moment:%Y-%m-%d}{separator}{moment:%H:%M:%S}.{moment.microsecond:06d}{nanos:03d}{zone}"
    expected = calendar.timegm(moment.utctimetuple()) * NS + moment.microsecond * 1000 + nanos
    assert stated_time_ns(text, DOCKER) == expected


@given(st.integers(1_000_000_000, 9_200_000_000), st.integers(0, 999_999_999))
def test_epoch_numbers_in_every_unit(seconds: int, nanos: int) -> None:
    ns = seconds * NS + nanos
    assert stated_time_ns(ns, DOCKER) == ns
    assert stated_time_ns(ns // 1000, DOCKER) == ns // 1000 * 1000
    assert stated_time_ns(ns // MS, DOCKER) == ns // MS * MS
    assert stated_time_ns(seconds, DOCKER) == seconds * NS
    assert stated_time_ns(f"{seconds}.{nanos:09d}", DOCKER) == ns


@given(st.text(max_size=40) | st.integers() | st.floats())
def test_never_raises(value: str | int | float) -> None:
    result = stated_time_ns(value, DOCKER)
    assert result is None or type(result) is int


FUTURE, PAST = 300 * NS, 30 * 86_400 * NS


def test_rejection() -> None:
    assert rejection(DOCKER, DOCKER, FUTURE, PAST) is None
    assert rejection(DOCKER + FUTURE, DOCKER, FUTURE, PAST) is None  # exactly 5 minutes ahead
    assert rejection(DOCKER + FUTURE + 1, DOCKER, FUTURE, PAST) == IN_FUTURE
    assert rejection(DOCKER - PAST, DOCKER, FUTURE, PAST) is None  # exactly 30 days behind
    assert rejection(DOCKER - PAST - 1, DOCKER, FUTURE, PAST) == TOO_OLD
    assert rejection(None, DOCKER, FUTURE, PAST) == UNPARSABLE
