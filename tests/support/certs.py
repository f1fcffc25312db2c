"""Certificates made with the openssl command line for a TLS broker in tests: a CA, and a server
certificate for 127.0.0.1 and localhost signed by it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str = "ca") -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        "-days",
        "2",
        "-subj",
        f"/CN=cti test {name}",
        cwd=directory,
    )
    return key, cert


def make_certs(directory: Path) -> Certs:
    ca_key, ca = make_ca(directory)
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
        cwd=directory,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(ext),
        cwd=directory,
    )
    return Certs(ca, cert, key)


def password_file(directory: Path, users: dict[str, str]) -> Path:
    path = directory / "passwords"
    for i, (user, password) in enumerate(users.items()):
        create = ["-c"] if i == 0 else []
        subprocess.run(
            ["mosquitto_passwd", *create, "-b", str(path), user, password], check=True, capture_output=True
        )
    return path
