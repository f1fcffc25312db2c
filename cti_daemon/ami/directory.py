"""Which device belongs to which extension, and which employee sits at which extension."""

from __future__ import annotations

from collections.abc import Iterable

from cti_daemon.line_owner import LineOwner

# Channel technologies whose devices are phones. Anything else that looks like TECH/<digits> is not a phone
# of that extension: app_queue's `Queue:service_pause_PJSIP/202` (a queue member's pause state), Local
# channels, or names a hostile or broken peer makes up.
PHONE_TECHS = frozenset(
    {"pjsip", "sip", "iax2", "sccp", "skinny", "mgcp", "unistim", "dahdi", "h323", "ooh323"}
)


__all__ = ["LineDirectory", "LineOwner", "device_of_channel"]


def device_of_channel(channel: str) -> str:
    """'PJSIP/100-00000001' -> 'PJSIP/100'; 'Local/201@internal-0000000a;1' -> 'Local/201@internal'."""
    head, sep, _tail = channel.rpartition("-")
    return head if sep else channel


class LineDirectory:
    """Devices of each employee's line. A device nobody lists but whose name is a phone technology and a
    short number ('PJSIP/203') is taken as that extension, so plain setups need no device list at all.
    Every other name belongs to no line (`Queue:...`, `Local/...`, `Custom:...`, garbage)."""

    def __init__(self, owners: Iterable[LineOwner] = (), *, internal_max_digits: int = 5) -> None:
        self._max_digits = internal_max_digits
        self._cache: dict[str, str | None] = {}  # channel or device name -> extension: asked per event
        self._by_device: dict[str, str] = {}
        self._employee: dict[str, str] = {}
        self._extension_of: dict[str, str] = {}  # employee id -> extension
        self._devices: dict[str, tuple[str, ...]] = {}
        self.replace(owners)

    def replace(self, owners: Iterable[LineOwner]) -> None:
        by_device: dict[str, str] = {}
        employee: dict[str, str] = {}
        devices: dict[str, tuple[str, ...]] = {}
        for owner in owners:
            employee[owner.extension] = owner.employee_id
            devices[owner.extension] = owner.devices
            for device in owner.devices:
                by_device[device.lower()] = owner.extension
        self._by_device, self._employee, self._devices = by_device, employee, devices
        self._extension_of = {employee_id: ext for ext, employee_id in employee.items()}
        self._cache = {}

    def extension_of_device(self, device: str) -> str | None:
        try:
            return self._cache[device]
        except KeyError:
            pass
        if len(self._cache) > 10_000:
            self._cache.clear()
        ext = self._cache[device] = self._lookup(device)
        return ext

    def _lookup(self, device: str) -> str | None:
        ext = self._by_device.get(device.lower())
        if ext is not None:
            return ext
        tech, sep, resource = device.partition("/")
        if (
            sep
            and resource.isascii()
            and resource.isdigit()
            and len(resource) <= self._max_digits
            and tech.lower() in PHONE_TECHS
        ):
            return resource
        return None

    def extension_of_channel(self, channel: str) -> str | None:
        return self.extension_of_device(device_of_channel(channel))

    def is_extension(self, extension: str) -> bool:
        """A line we track: one an employee sits at, or any short number (hints exist for those)."""
        return extension in self._devices or (extension.isdigit() and len(extension) <= self._max_digits)

    def employee_at(self, extension: str) -> str | None:
        return self._employee.get(extension)

    def extension_of_employee(self, employee_id: str) -> str | None:
        """The extension an employee sits at (None: unknown employee, or one without an extension)."""
        return self._extension_of.get(employee_id)

    def devices_of(self, extension: str) -> tuple[str, ...]:
        return self._devices.get(extension, ())

    def extensions(self) -> list[str]:
        return sorted(self._employee)
