"""The AMI reader: framing, incremental UTF-8, noise dropped before parsing, bad frames skipped."""

from __future__ import annotations

import pytest

from cti_daemon.ami.frames import FrameReader, encode_action, parse_frame
from tests.support.traces import trace_bytes

CYRILLIC = "Иван Петров"


def _newchannel(name: str) -> bytes:
    return (
        "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-00000000\r\n"
        f"CallerIDNum: +79161234567\r\nCallerIDName: {name}\r\nUniqueid: 1.0\r\nLinkedid: 1.0\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("read_size", range(1, 8))
def test_given_cyrillic_name_split_at_every_byte_boundary_when_read_then_name_is_intact(
    read_size: int,
) -> None:
    data = b"Asterisk Call Manager/11.0.0\r\n" + _newchannel(CYRILLIC) * 3
    for offset in range(read_size):  # shift the cut points so every byte boundary is hit
        reader = FrameReader()
        chunks = [data[:offset]] + [data[i : i + read_size] for i in range(offset, len(data), read_size)]
        messages = [m for chunk in chunks for m in reader.feed(chunk)]
        assert [m["CallerIDName"] for m in messages] == [CYRILLIC] * 3


def test_given_recorded_cyrillic_trace_in_7_byte_reads_then_every_name_survives() -> None:
    data = trace_bytes("asterisk-22/b_inbound_answered_cyrillic")
    reader = FrameReader()
    messages = [m for i in range(0, len(data), 7) for m in reader.feed(data[i : i + 7])]
    names = {m["CallerIDName"] for m in messages if m.get("CallerIDNum") == "+79161234567"}
    assert names == {CYRILLIC}
    assert reader.banner == "Asterisk Call Manager/11.0.0"


def test_given_noise_events_when_filtered_then_dropped_without_parsing_and_counted() -> None:
    reader = FrameReader(drop_events={"VarSet", "Newexten"})
    messages = reader.feed(trace_bytes("asterisk-22/b_inbound_answered"))
    names = [m.get("Event") for m in messages]
    assert "VarSet" not in names and "Newexten" not in names
    assert names.count("Newchannel") == 2
    assert reader.dropped == 50  # 46 VarSet + 4 Newexten in the recording


def test_given_a_malformed_frame_then_it_is_reported_and_the_next_event_still_arrives() -> None:
    seen: list[str] = []
    reader = FrameReader(on_malformed=lambda reason, excerpt: seen.append(excerpt))
    reader.feed(b"Asterisk Call Manager/11.0.0\r\n")
    messages = reader.feed(b"garbage without headers\r\njunk\r\n\r\n" + _newchannel("Ann"))
    assert [m["CallerIDName"] for m in messages] == ["Ann"]
    assert reader.malformed == 1 and seen[0].startswith("garbage")


def test_given_header_lines_without_colon_then_the_rest_of_the_frame_is_kept() -> None:
    msg = parse_frame("Event: Hangup\r\nthis line is broken\r\nCause: 16\r\nExten: ")
    assert msg == {"Event": "Hangup", "Cause": "16", "Exten": ""}


def test_given_a_frame_larger_than_the_limit_then_it_is_discarded_and_reading_resumes() -> None:
    reader = FrameReader(max_frame_chars=1000)
    reader.feed(b"Asterisk Call Manager/11.0.0\r\n")
    big = b"Event: Newchannel\r\nX: " + b"a" * 5000
    messages = reader.feed(big)
    messages += reader.feed(b"b" * 3000 + b"\r\n\r\n" + _newchannel("After"))
    assert [m["CallerIDName"] for m in messages] == ["After"]
    assert reader.malformed == 1


def test_given_banner_and_login_answer_in_one_read_then_both_are_understood() -> None:
    reader = FrameReader()
    messages = reader.feed(
        b"Asterisk Call Manager/11.0.0\r\n"
        b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
    )
    assert reader.banner == "Asterisk Call Manager/11.0.0"
    assert messages == [{"Response": "Success", "ActionID": "1", "Message": "Authentication accepted"}]


def test_given_a_header_value_with_a_line_break_then_the_action_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        encode_action([("Action", "Redirect"), ("Exten", "201\r\nAction: Originate")])


def test_given_a_nul_in_a_callers_name_then_it_is_dropped_and_the_rest_of_the_name_kept() -> None:
    reader = FrameReader(expect_banner=False)
    messages = reader.feed(_newchannel("Iv\x00an") + _newchannel("Olga"))
    assert [m["CallerIDName"] for m in messages] == ["Ivan", "Olga"]
