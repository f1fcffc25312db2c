"""AMI framing: bytes in, messages (plain dicts) out. No I/O.

Why our own: panoramisk decodes every TCP chunk on its own with errors ignored, so a UTF-8 character split
across two reads (a Cyrillic caller name) silently loses letters. Here one incremental decoder spans reads.
Frames are split on the blank line; events we never use (VarSet, Newexten...) are recognised from their
first line and dropped before their headers are parsed, which is most of the traffic of a real Asterisk.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable

AmiMessage = dict[str, str]
MalformedSink = Callable[[str, str], None]  # (reason, excerpt)

_SEP = "\r\n\r\n"
_EOL = "\r\n"
_EVENT = "Event: "


def _ignore(_reason: str, _excerpt: str) -> None:
    return None


def parse_frame(frame: str) -> AmiMessage | None:
    """Headers of one frame; None if it is not an AMI message (no Event, Response or Action header)."""
    lines = frame.split(_EOL)
    try:
        # The common case in one C-level pass: every line is "Key: value" ("Key: " when empty).
        msg: AmiMessage = dict([line.split(": ", 1) for line in lines])
    except ValueError:
        msg = {}
        for line in lines:
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or not key or " " in key:
                continue  # a line that is not a header: skip it, keep the rest of the frame
            msg[key] = value[1:] if value.startswith(" ") else value
    if "Event" in msg or "Response" in msg or "Action" in msg:
        return msg
    return None


class FrameReader:
    """Feeds on raw bytes from the socket; returns the complete messages each read finishes."""

    def __init__(
        self,
        *,
        drop_events: Iterable[str] = (),
        max_frame_chars: int = 1 << 20,
        on_malformed: MalformedSink = _ignore,
        expect_banner: bool = True,
    ) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        # "Event: VarSet\r\n"...: one C-level startswith per frame tells noise from news.
        self._drop = tuple(f"{_EVENT}{name}{_EOL}" for name in drop_events)
        self._max = max_frame_chars
        self._on_malformed = on_malformed
        self._skipping = False  # inside an oversized frame, discarding until its end
        # A client reads Asterisk's greeting line first; the server side (our simulator) has none to read.
        self.banner: str | None = None if expect_banner else ""
        self.dropped = 0
        self.malformed = 0
        self.messages = 0

    def feed(self, data: bytes) -> list[AmiMessage]:
        text = self._decoder.decode(data)
        if "\x00" in text:
            # A NUL is no character of a caller's name (a dialplan or AGI can still set one): PostgreSQL
            # cannot store it, so a contact registered from that ring would be lost. One C-level scan.
            text = text.replace("\x00", "")
        buf = self._buf + text if self._buf else text
        if self.banner is None:
            end = buf.find(_EOL)
            if end < 0:
                self._buf = buf
                self._guard_size()
                return []
            # Asterisk sends "Asterisk Call Manager/x.y.z" and no blank line after it.
            self.banner = buf[:end]
            buf = buf[end + 2 :]
        if self._skipping:
            end = buf.find(_SEP)
            if end < 0:
                self._buf = buf[-3:]  # keep a possible partial separator
                return []
            self._skipping = False
            buf = buf[end + 4 :]
        frames = buf.split(_SEP)
        self._buf = frames.pop()
        self._guard_size()
        out: list[AmiMessage] = []
        drop = self._drop
        for frame in frames:
            if drop and frame.startswith(drop):
                self.dropped += 1
                continue
            if not frame or frame.startswith(_EOL):
                stripped = frame.strip(_EOL)
                if not stripped:
                    continue
                frame = stripped  # noqa: PLW2901 - the same frame, without stray blank lines
            msg = parse_frame(frame)
            if msg is None:
                self.malformed += 1
                self._on_malformed("not an AMI message (no Event, Response or Action header)", frame[:120])
                continue
            out.append(msg)
        self.messages += len(out)
        return out

    def _guard_size(self) -> None:
        if len(self._buf) > self._max:
            self.malformed += 1
            self._on_malformed(f"frame longer than {self._max} characters, discarded", self._buf[:120])
            self._buf = ""
            self._skipping = self.banner is not None
            if self.banner is None:
                self.banner = ""


def encode_action(headers: Iterable[tuple[str, str]]) -> bytes:
    """One action on the wire; values with CR/LF would inject headers, so they are refused."""
    parts = []
    for key, value in headers:
        if "\r" in value or "\n" in value or "\r" in key or "\n" in key:
            raise ValueError(f"AMI header {key!r} contains a line break")
        parts.append(f"{key}: {value}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")
