"""Typed failures of the AMI link and its actions. Messages never contain the secret."""

from __future__ import annotations


class AmiError(Exception):
    """Base of everything the AMI adapter raises."""


class AmiNotConnectedError(AmiError):
    """No logged-in AMI session right now."""


class AmiDisconnectedError(AmiError):
    """The connection went away while an action waited for its answer."""


class AmiPeerSilentError(AmiDisconnectedError):
    """The connection was given up because Asterisk stopped answering (pings unanswered)."""


class AmiAuthError(AmiError):
    """Asterisk refused the login (wrong user or secret, or the user may not log in from here); `refused`
    False: the connection closed before any answer to the login came."""

    def __init__(self, message: str, *, refused: bool = True) -> None:
        super().__init__(message)
        self.refused = refused


class AmiTimeoutError(AmiError):
    """Asterisk did not answer in time."""


class AmiActionError(AmiError):
    """Asterisk answered an action with an error."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


class AmiNoSuchChannelError(AmiActionError):
    """The channel named in the action does not exist (any more)."""


class AmiPermissionError(AmiActionError):
    """The AMI user lacks the privilege for this action."""


class AmiOriginateError(AmiActionError):
    """Asterisk queued the Originate, but the first leg did not answer (busy, no answer, unavailable)."""

    def __init__(self, action: str, message: str, reason: int) -> None:
        super().__init__(action, message)
        self.reason = reason


def classify(action: str, message: str) -> AmiActionError:
    """Asterisk's error texts differ per action ("No such channel" from Hangup, "Channel does not exist:
    X" from Redirect, "Channel specified does not exist" from BlindTransfer and Atxfer): map the ones
    callers act on to types."""
    low = message.lower()
    if "no such channel" in low or "does not exist" in low or "channel not specified" in low:
        return AmiNoSuchChannelError(action, message)
    if "permission denied" in low:
        return AmiPermissionError(action, message)
    return AmiActionError(action, message)
