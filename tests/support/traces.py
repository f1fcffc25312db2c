"""The recorded AMI sessions in tests/traces, as bytes and as parsed messages."""

from __future__ import annotations

from pathlib import Path

from cti_daemon.ami.frames import AmiMessage, FrameReader

TRACES = Path(__file__).resolve().parent.parent / "traces"


def trace_path(name: str) -> Path:
    """'asterisk-22/b_inbound_answered' -> the .ami file."""
    path = TRACES / f"{name}.ami"
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def trace_bytes(name: str) -> bytes:
    return trace_path(name).read_bytes()


def trace_messages(name: str) -> list[AmiMessage]:
    """Every message of a recording (responses and events), parsed by our own reader."""
    data = trace_bytes(name)
    reader = FrameReader(expect_banner=data.startswith(b"Asterisk Call Manager/"))
    messages = reader.feed(data)
    if not data.endswith(b"\r\n\r\n"):
        messages += reader.feed(b"\r\n\r\n")
    return messages


def all_traces() -> list[str]:
    return sorted(f"{p.parent.name}/{p.stem}" for p in TRACES.glob("*/*.ami"))
