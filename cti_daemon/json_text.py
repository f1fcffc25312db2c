"""JSON from outside (HTTP bodies, agents' MQTT messages) into Python values, refusing what `json.loads`
accepts but the daemon cannot use: strings holding an unpaired UTF-16 surrogate escape ("\\ud800" is valid
JSON but not a character, so it can be neither stored nor sent on as UTF-8), and nesting deep enough to
exhaust the decoder's recursion (a RecursionError, not a ValueError, which callers would not expect), and
integers longer than Python converts (over 4,300 digits: a bare ValueError callers did not expect)."""

from __future__ import annotations

import json
from typing import Any


class JsonTextError(ValueError):
    """Why the text cannot be used; `where` is the path of the offending string ("caller.name") or ""."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


def loads_text(text: str) -> Any:
    """`json.loads(text)`, plus the refusals above (JsonTextError). json.JSONDecodeError as usual."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTextError("nested too deeply") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise JsonTextError("a number has too many digits") from None
    where = unpaired_surrogate_at(value)
    if where is not None:
        named = f"{where}: " if where else ""
        raise JsonTextError(
            f"{named}an unpaired surrogate escape (\\ud800-\\udfff) is not a character", where
        )
    return value


def unpaired_surrogate_at(value: Any) -> str | None:
    """The path of the first string (or key) in a parsed JSON value that holds an unpaired surrogate; None
    when there is none. Iterative: the value may be as deep as the decoder allowed."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return path
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                here = f"{path}.{key}" if path else str(key)
                if not _encodable(key):
                    return path
                stack.append((here, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{n}]", child) for n, child in reversed(list(enumerate(item))))
    return None


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
