"""`cti-daemon users ...`: passwords from stdin or the terminal (never an argument), Argon2id hashes only,
roles, disabling; every change ends the person's sessions."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cti_daemon import passwords
from cti_daemon.api.session_book import SessionBook, SignInRefusedError
from cti_daemon.api.signin_limits import SignInLimits
from cti_daemon.cli import main as cli_main
from cti_daemon.crm.models import Employee
from cti_daemon.crm.seed import SeedSummary
from cti_daemon.crm.store import Store, open_store

PASSWORD = "Correct-Horse-77"


@pytest.fixture
def config_file(seeded_sqlite: tuple[str, SeedSummary], tmp_path: Path) -> Path:
    path = tmp_path / "cti.toml"
    path.write_text(f'[database]\nurl = "{seeded_sqlite[0]}"\n', encoding="utf-8")
    return path


def _users(config: Path, *args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli_main(["users", *args, "--config", str(config)])


def _stored(db_url: str, login: str) -> Employee:
    async def read() -> Employee:
        store = open_store(db_url)
        try:
            async with store.session() as session:
                found = await session.scalar(select(Employee).where(Employee.login == login))
        finally:
            await store.dispose()
        assert found is not None
        return found

    return asyncio.run(read())


def _book(db_url: str) -> tuple[SessionBook, Store]:
    store = open_store(db_url)
    limits = SignInLimits(per_login=100, per_address=100, window_s=60)
    return SessionBook(store, idle_s=60, max_s=600, limits=limits, clock=lambda: datetime.now(UTC)), store


def test_given_a_password_piped_on_stdin_then_only_an_argon2id_hash_is_stored_and_list_shows_it(
    config_file: Path,
    seeded_sqlite: tuple[str, SeedSummary],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _users(config_file, "set-password", "porlov", stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    stored = _stored(seeded_sqlite[0], "porlov").password_hash
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert passwords.verify(stored, PASSWORD) and not passwords.verify(stored, PASSWORD + "x")
    assert _users(config_file, "list", monkeypatch=monkeypatch) == 0
    out, err = capsys.readouterr()
    porlov = next(line for line in out.splitlines() if line.startswith("porlov "))
    assert porlov.split()[:5] == ["porlov", "e-201", "employee", "201", "yes"]
    ivolkova = next(line for line in out.splitlines() if line.startswith("ivolkova "))
    assert "no password" in ivolkova
    assert PASSWORD not in out + err


@pytest.mark.parametrize("given", ["", "   ", "short-9ch"])
def test_given_an_empty_or_short_password_then_it_is_refused_and_nothing_is_stored(
    given: str,
    config_file: Path,
    seeded_sqlite: tuple[str, SeedSummary],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _users(config_file, "set-password", "porlov", stdin=given + "\n", monkeypatch=monkeypatch) == 2
    assert "nothing changed" in capsys.readouterr().err
    assert _stored(seeded_sqlite[0], "porlov").password_hash is None


def test_given_the_password_as_an_argument_then_it_is_a_usage_error(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as stopped:
        _users(config_file, "set-password", "porlov", PASSWORD, monkeypatch=monkeypatch)
    assert stopped.value.code == 2


def test_given_an_unknown_login_or_role_then_exit_1_or_2_and_nothing_changes(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _users(config_file, "disable", "nobody", monkeypatch=monkeypatch) == 1
    assert "no employee has the login 'nobody'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        _users(config_file, "role", "porlov", "superuser", monkeypatch=monkeypatch)
    assert stopped.value.code == 2


def test_given_role_then_disable_then_the_person_is_reception_and_then_cannot_sign_in(
    config_file: Path, seeded_sqlite: tuple[str, SeedSummary], monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = seeded_sqlite[0]
    assert _users(config_file, "set-password", "ivolkova", stdin=PASSWORD, monkeypatch=monkeypatch) == 0
    assert _users(config_file, "role", "ivolkova", "reception", monkeypatch=monkeypatch) == 0
    assert _stored(db_url, "ivolkova").role == "reception"

    async def signed_in_then_disabled() -> tuple[str | None, str | None]:
        book, store = _book(db_url)
        signed = await book.sign_in("ivolkova", PASSWORD, "127.0.0.1")
        before = await book.check(signed.session_id)
        # The command runs in another process, as an administrator would run it.
        done = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "cti_daemon",
                "users",
                "disable",
                "ivolkova",
                "--config",
                f"{config_file}",
            ],
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        after = await book.check(signed.session_id)
        with pytest.raises(SignInRefusedError):
            await book.sign_in("ivolkova", PASSWORD, "127.0.0.1")
        await store.dispose()
        return (before.role if before else None), (after.role if after else None)

    assert asyncio.run(signed_in_then_disabled()) == ("reception", None)
    assert _users(config_file, "enable", "ivolkova", monkeypatch=monkeypatch) == 0
    assert _stored(db_url, "ivolkova").disabled is False


def test_given_cti_daemon_users_set_password_with_a_pipe_then_no_output_or_log_line_has_the_password(
    config_file: Path, seeded_sqlite: tuple[str, SeedSummary]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cti_daemon", "users", "set-password", "porlov", "--config", str(config_file)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
        env={"CTI_LOGGING__LEVEL": "debug", "CTI_LOGGING__FORMAT": "json", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "password set for porlov" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    assert _stored(seeded_sqlite[0], "porlov").password_hash is not None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_given_a_terminal_then_the_password_is_asked_twice_without_echo_and_must_match(
    config_file: Path,
    seeded_sqlite: tuple[str, SeedSummary],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    typed = iter([PASSWORD, PASSWORD + "!", PASSWORD, PASSWORD])
    prompts: list[str] = []

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(typed)

    monkeypatch.setattr("getpass.getpass", getpass)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    argv = ["users", "set-password", "porlov", "--config", str(config_file)]
    assert cli_main(argv) == 2
    assert "differ" in capsys.readouterr().err
    assert _stored(seeded_sqlite[0], "porlov").password_hash is None
    assert cli_main(argv) == 0
    assert prompts == ["New password for porlov: ", "Again: "] * 2
    assert PASSWORD not in "".join(capsys.readouterr())


def test_the_role_choices_of_the_command_line_are_the_stores_roles() -> None:
    from cti_daemon.cli_users import ROLE_CHOICES  # noqa: PLC0415
    from cti_daemon.crm.accounts import ROLES  # noqa: PLC0415

    assert ROLE_CHOICES == ROLES
