"""Which employee sits at which extension, both ways."""

from __future__ import annotations

from cti_daemon.ami.directory import LineDirectory, LineOwner


def test_given_employees_then_each_extension_and_employee_is_found_from_the_other() -> None:
    directory = LineDirectory(
        [LineOwner("e-100", "100", ("PJSIP/100",)), LineOwner("e-201", "201", ("PJSIP/201", "SIP/150010002"))]
    )
    assert directory.extension_of_employee("e-201") == "201" and directory.employee_at("201") == "e-201"
    assert directory.extension_of_employee("e-999") is None
    directory.replace([LineOwner("e-201", "202", ("PJSIP/202",))])  # moved desks
    assert (
        directory.extension_of_employee("e-201") == "202" and directory.extension_of_employee("e-100") is None
    )
