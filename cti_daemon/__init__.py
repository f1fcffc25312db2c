"""cti-daemon: Asterisk CTI for a reception desk and a CRM."""

__version__ = "0.1.0"
