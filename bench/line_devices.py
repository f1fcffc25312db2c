"""A line's status with many device names reported for one extension (issue 15 item 6), beside the old
behaviour.

A peer reports N distinct device names that look like extension 202's (`Queue:q17_pause_PJSIP/202`,
`T17/202`: a queue's pause-state devices, made-up technologies), one DeviceStateChange each, N = 10k, 20k
and 40k. Measured per event:

- daemon: `CallTracker.handle` of the DeviceStateChange, as the link hands it over (the names are no
  phones, so they belong to no line and are dropped after one directory lookup);
- kept: the same through the tracker for 202's own phone while the line keeps `DEVICES_MAX` devices (a
  device's news is counted per status, not rescanned);
- old: the former rule, in a few lines below (any TECH/<digits> name is that extension's device, the line
  keeps every one and recomputes its status over all of them on each event), timed for 200 events once
  the line holds N devices: its cost per event grows with N (in the report, 10k/20k/40k events took
  3.4/12.5/46.7 s);
- raw: a dict lookup and store per event, the loop's floor on this machine.

Medians of 3 runs. Run: `.venv/bin/python bench/line_devices.py [--sizes 10000,20000,40000]`. The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cti_daemon.ami.call_events import LineStatus  # noqa: E402
from cti_daemon.ami.directory import LineDirectory  # noqa: E402
from cti_daemon.ami.lines import DEVICES_MAX, device_status  # noqa: E402
from cti_daemon.ami.tracker import CallTracker  # noqa: E402

OLD_SAMPLE = 200
RUNS = 3
_RANK = {
    LineStatus.TALKING: 4,
    LineStatus.RINGING: 3,
    LineStatus.READY: 2,
    LineStatus.UNKNOWN: 1,
    LineStatus.OFFLINE: 0,
}


def events(n: int) -> list[dict[str, str]]:
    states = ("NOT_INUSE", "INUSE", "UNAVAILABLE", "RINGING")
    return [
        {
            "Event": "DeviceStateChange",
            "Privilege": "call,all",
            "Device": f"Queue:q{i}_pause_PJSIP/202" if i % 2 else f"T{i}/202",
            "State": states[i % 4],
        }
        for i in range(n)
    ]


def _old_extension(device: str) -> str | None:
    tech, sep, resource = device.partition("/")
    return resource if sep and tech.lower() != "local" and resource.isdigit() and len(resource) <= 5 else None


def old_per_event(n: int) -> float:
    """Seconds per event of the old rule once the line holds n devices."""
    devices: dict[str, LineStatus] = {}
    for msg in events(n):
        devices[msg["Device"].lower()] = device_status(msg["State"])
    sample = events(OLD_SAMPLE)
    started = time.perf_counter()
    for msg in sample:
        if _old_extension(msg["Device"]) is not None:
            devices[msg["Device"].lower()] = device_status(msg["State"])
            max(devices.values(), key=_RANK.__getitem__)
    return (time.perf_counter() - started) / OLD_SAMPLE


def daemon_per_event(n: int) -> float:
    tracker = CallTracker(LineDirectory())
    tracker.handle({"Event": "DeviceStateChange", "Device": "PJSIP/202", "State": "NOT_INUSE"})
    stream = events(n)
    started = time.perf_counter()
    for msg in stream:
        tracker.handle(msg)
    elapsed = (time.perf_counter() - started) / n
    line = tracker.lines.lines()["202"]
    assert len(line.devices) == 1, "an unknown name was kept"
    return elapsed


def kept_per_event(n: int) -> float:
    """202's own phone changing state while its line keeps DEVICES_MAX devices."""
    directory = LineDirectory()
    tracker = CallTracker(directory)
    for i in range(DEVICES_MAX):
        tracker.lines.set_device("202", f"pjsip/extra{i}", LineStatus.OFFLINE)
    stream = [
        {"Event": "DeviceStateChange", "Device": "PJSIP/202", "State": ("INUSE", "NOT_INUSE")[i % 2]}
        for i in range(n)
    ]
    started = time.perf_counter()
    for msg in stream:
        tracker.handle(msg)
    return (time.perf_counter() - started) / n


def raw_per_event(n: int) -> float:
    stream = events(n)
    table: dict[str, str] = {}
    started = time.perf_counter()
    for msg in stream:
        table[msg["Device"]] = msg["State"]
    return (time.perf_counter() - started) / n


def median_us(measure: Callable[[int], float], n: int) -> float:
    return statistics.median(measure(n) for _ in range(RUNS)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,20000,40000")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    result: dict[str, dict[str, float]] = {"daemon": {}, "kept": {}, "old": {}, "raw": {}}
    head = ("devices", "daemon µs/ev", "kept µs/ev", "old µs/ev", "old/daemon", "raw µs/ev")
    print("".join(f"{h:>{w}}" for h, w in zip(head, (8, 14, 12, 11, 12, 11), strict=True)))
    for n in sizes:
        row = {
            "daemon": median_us(daemon_per_event, n),
            "kept": median_us(kept_per_event, n),
            "old": median_us(old_per_event, n),
            "raw": median_us(raw_per_event, n),
        }
        for key, value in row.items():
            result[key][str(n)] = round(value, 3)
        print(
            f"{n:>8} {row['daemon']:>13.2f} {row['kept']:>11.2f} {row['old']:>10.1f}"
            f" {row['old'] / row['daemon']:>10.0f}x {row['raw']:>10.3f}"
        )
    print(json.dumps({"bench": "line_devices", "us_per_event": result}))


if __name__ == "__main__":
    main()
