"""Phones registering and unregistering, with the events of the a_registration recording: the PJSIP
challenge and authentication (security noise), then PeerStatus, the device and hint states (in either
order, as Asterisk), the reception queue's member status, and ContactStatus."""

from __future__ import annotations

from datetime import UTC, datetime

from cti_daemon.ami.simulator.pbx import Headers, SimPbx

_PORTS = {"100": 5061, "201": 5062, "202": 5063, "203": 5064}


def _uri(extension: str) -> str:
    return f"sip:{extension}@127.0.0.1:{_PORTS.get(extension, 5070)}"


def _auth_noise(pbx: SimPbx, extension: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    base: Headers = [
        ("EventTV", now),
        ("Severity", "Informational"),
        ("Service", "PJSIP"),
        ("EventVersion", "1"),
        ("AccountID", extension),
        ("SessionID", f"1-{pbx.rng.randrange(10000, 99999)}@127.0.0.1"),
        ("LocalAddress", "IPV4/UDP/127.0.0.1/5060"),
        ("RemoteAddress", f"IPV4/UDP/127.0.0.1/{_PORTS.get(extension, 5070)}"),
    ]
    pbx.emit("ChallengeSent", "security,all", [*base, ("Challenge", "")])
    pbx.emit("SuccessfulAuth", "security,all", [*base, ("UsingPassword", "1")])


def register(pbx: SimPbx, extension: str) -> None:
    """A REGISTER (or a refresh: then only the security events, as recorded)."""
    endpoint = pbx.endpoints[extension]
    _auth_noise(pbx, extension)
    if endpoint.registered:
        return
    endpoint.registered = True
    pbx.emit(
        "PeerStatus",
        "system,all",
        [("ChannelType", "PJSIP"), ("Peer", f"PJSIP/{extension}"), ("PeerStatus", "Reachable")],
    )
    pbx.refresh_endpoint(extension)
    _contact(pbx, extension, "NonQualified")


def unregister(pbx: SimPbx, extension: str) -> None:
    """A REGISTER with Expires: 0."""
    endpoint = pbx.endpoints[extension]
    _auth_noise(pbx, extension)
    if not endpoint.registered:
        return
    endpoint.registered = False
    pbx.emit(
        "PeerStatus",
        "system,all",
        [("ChannelType", "PJSIP"), ("Peer", f"PJSIP/{extension}"), ("PeerStatus", "Unreachable")],
    )
    pbx.refresh_endpoint(extension)
    _contact(pbx, extension, "Removed")


def _contact(pbx: SimPbx, extension: str, status: str) -> None:
    pbx.emit(
        "ContactStatus",
        "system,all",
        [
            ("URI", _uri(extension)),
            ("ContactStatus", status),
            ("AOR", extension),
            ("EndpointName", extension),
            ("RoundtripUsec", "0"),
        ],
    )
