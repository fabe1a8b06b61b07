"""Unit tests of the Docker stream decoder: frames, partials, TTY, UTF-8, ordinals."""

from __future__ import annotations

import struct

from shipper.frames import MIN_PRUNE_AT, LineAssembler

TS = b"2024-05-01T12:00:00.000000001Z"
TS2 = b"2024-05-01T12:00:00.000000002Z"
NS = 1714564800 * 1_000_000_000


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_frames_split_at_every_byte_still_decode() -> None:
    data = frame(1, TS + b" hello\n") + frame(2, TS2 + b" oops\n")
    assembler = LineAssembler(tty=False)
    lines = []
    for i in range(len(data)):
        lines += assembler.feed(data[i : i + 1])
    assert lines == [[NS + 1, 0, "stdout", "hello", ()], [NS + 2, 0, "stderr", "oops", ()]]


def test_partial_messages_merge_into_the_original_line_with_the_first_timestamp() -> None:
    parts = [b"a" * 16384, b"b" * 16384, b"c" * 10]
    data = frame(1, TS + b" " + parts[0]) + frame(1, TS2 + b" " + parts[1]) + frame(1, TS2 + b" " + parts[2] + b"\n")
    lines = LineAssembler(tty=False).feed(data)
    assert len(lines) == 1
    assert lines[0][0] == NS + 1 and lines[0][3] == "a" * 16384 + "b" * 16384 + "c" * 10


def test_partials_of_two_streams_do_not_mix() -> None:
    data = frame(1, TS + b" out-") + frame(2, TS + b" err-") + frame(2, TS2 + b" end\n") + frame(1, TS2 + b" end\n")
    lines = LineAssembler(tty=False).feed(data)
    assert [(line[2], line[3]) for line in lines] == [("stderr", "err-end"), ("stdout", "out-end")]


def test_a_line_over_the_cap_is_cut_and_flagged_not_dropped() -> None:
    data = frame(1, TS + b" " + b"x" * 5000) + frame(1, TS2 + b" " + b"y" * 5000 + b"\n") + frame(1, TS2 + b" next\n")
    lines = LineAssembler(tty=False, max_line_bytes=6000).feed(data)
    assert len(lines[0][3]) == 6000 and lines[0][4] == ["truncated"]
    assert lines[1][3] == "next" and lines[1][4] == ()


def test_invalid_utf8_is_replaced_visibly_and_flagged() -> None:
    lines = LineAssembler(tty=False).feed(frame(1, TS + b" caf\xe9 \xff\n"))
    assert lines[0][3] == "caf\ufffd \ufffd" and lines[0][4] == ["invalid_utf8"]


def test_tty_stream_is_raw_with_crlf_line_ends() -> None:
    assembler = LineAssembler(tty=True)
    lines = assembler.feed(TS + b" one\r\n" + TS2 + b" tw")
    lines += assembler.feed(b"o\r\n" + TS2 + b" tail-without-newline")
    lines += assembler.finish()
    assert [line[3] for line in lines] == ["one", "two", "tail-without-newline"]
    assert {line[2] for line in lines} == {"stdout"}


def test_ordinals_count_lines_with_the_same_timestamp_even_out_of_order() -> None:
    # stdout and stderr are timestamped by separate copiers: stream order is not time order.
    data = frame(1, TS2 + b" a\n") + frame(2, TS + b" b\n") + frame(1, TS2 + b" c\n") + frame(2, TS + b" d\n")
    lines = LineAssembler(tty=False).feed(data)
    keys = [(line[0], line[1]) for line in lines]
    assert keys == [(NS + 2, 0), (NS + 1, 0), (NS + 2, 1), (NS + 1, 1)]
    assert len(set(keys)) == 4


def test_finish_emits_a_last_partial() -> None:
    assembler = LineAssembler(tty=False)
    assert assembler.feed(frame(1, TS + b" no newline at the end")) == []
    assert [line[3] for line in assembler.finish()] == ["no newline at the end"]


def test_lines_sent_again_after_a_log_rotation_are_dropped_not_given_new_ordinals() -> None:
    # Across a json-file rotation dockerd's follow stream repeats a run of lines it had already sent.
    stamps = [TS[:-2] + str(i).encode() + b"Z" for i in range(1, 6)]
    first = [frame(1, stamp + b" line %d\n" % i) for i, stamp in enumerate(stamps)]
    again = first[2:]  # the stream goes back two lines and sends them, and the newest, once more
    later = frame(1, TS[:-2] + b"9Z" + b" after the rotation\n")
    assembler = LineAssembler(tty=False)
    lines = assembler.feed(b"".join(first + again) + later)
    assert [line[3] for line in lines] == [f"line {i}" for i in range(5)] + ["after the rotation"]
    assert {line[1] for line in lines} == {0}
    assert assembler.replayed == 3


def test_a_same_timestamp_line_of_the_other_stream_is_not_taken_for_a_repeat() -> None:
    data = frame(1, TS2 + b" same text\n") + frame(2, TS2 + b" same text\n") + frame(1, TS + b" late stdout\n")
    assembler = LineAssembler(tty=False)
    lines = assembler.feed(data)
    assert [(line[2], line[1]) for line in lines] == [("stdout", 0), ("stderr", 1), ("stdout", 0)]
    assert assembler.replayed == 0


def test_the_timestamps_counted_for_ordinals_stay_few_however_long_the_stream() -> None:
    # Memory per followed container must not grow with its log: only the last 100 ms are kept.
    assembler = LineAssembler(tty=False)
    for second in range(20):
        data = b"".join(
            frame(1, b"2024-05-01T12:00:%02d.%09dZ line\n" % (second, ms * 1_000_000)) for ms in range(0, 1000, 2)
        )
        assembler.feed(data)
        assert assembler.timestamps_tracked <= 2 * MIN_PRUNE_AT
