"""JSON from outside: what json.loads takes but the daemon cannot use is refused with where it is."""

from __future__ import annotations

import pytest

from cti_daemon.json_text import JsonTextError, loads_text
from cti_daemon.mqtt.inbound import BadPayloadError, parse_presence_set


def test_given_a_surrogate_pair_then_it_is_the_character_it_encodes() -> None:
    assert loads_text('{"name": "\\ud83d\\ude97 Ivan"}') == {"name": "\U0001f697 Ivan"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"caller": {"name": "A\\ud800B"}}', "caller.name"),
        ('{"notes": ["fine", "\\udfff"]}', "notes[1]"),
        ('{"\\ud800": 1}', ""),
        ('"\\udc00"', ""),
    ],
)
def test_given_an_unpaired_surrogate_then_refused_naming_the_string(text: str, where: str) -> None:
    with pytest.raises(JsonTextError) as err:
        loads_text(text)
    assert err.value.where == where and "unpaired surrogate" in str(err.value)


def test_given_nesting_deeper_than_the_decoder_takes_then_a_value_error_not_a_recursion_error() -> None:
    with pytest.raises(JsonTextError, match="nested too deeply"):
        loads_text('{"a": ' + "[" * 200_000 + "]" * 200_000 + "}")


@pytest.mark.parametrize(
    "payload",
    [b'{"status": "\\ud800"}', b'{"status": "busy", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"],
    ids=["unpaired surrogate", "nested too deeply"],
)
def test_given_an_agent_sends_such_presence_then_it_is_a_bad_payload(payload: bytes) -> None:
    with pytest.raises(BadPayloadError, match="not usable JSON"):
        parse_presence_set("e-201", payload)
