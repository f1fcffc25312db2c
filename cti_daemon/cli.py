"""The command line. Exit codes: 0 ok, 2 bad usage or configuration, 1 anything else."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from cti_daemon import __version__, cli_db, cli_users, logs, store_url
from cti_daemon import config as config_mod

DEFAULT_CONFIG = Path("/etc/cti-daemon/cti-daemon.toml")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cti-daemon", description="Asterisk CTI daemon: screen pops, journal, transfers.")
    parser.add_argument("--version", action="version", version=f"cti-daemon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser(
        "run", help="run the daemon in the foreground until SIGTERM/SIGINT (SIGHUP: re-read http.tokens_file)"
    )
    run.add_argument("--config", type=Path, help=f"TOML file (default {DEFAULT_CONFIG} if it exists)")

    check = sub.add_parser("check-config", help="validate the configuration; exit 0 or 2")
    check.add_argument("--config", type=Path)

    demo = sub.add_parser("demo", help="everything on this machine, no set-up; prints the screen pops")
    demo.add_argument(
        "--port-base", type=int, help="AMI on N, MQTT on N+1, HTTP on N+2 (default: free ports)"
    )
    demo.add_argument("--calls-per-minute", type=float, default=12.0)
    demo.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")

    db = sub.add_parser("db", help="the store's schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    upgrade = db_sub.add_parser("upgrade", help="create or migrate the schema")
    upgrade.add_argument("--config", type=Path)
    cli_db.add_commands(db_sub)

    agent = sub.add_parser("agent", help="the reference agent client: prints one employee's screen pops")
    agent.add_argument("--employee", required=True, help="employee id, e.g. e-201")
    agent.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="broker URL (mqtt:// or mqtts://)")
    agent.add_argument("--prefix", default="cti", help="topic prefix (mqtt.topic_prefix of the daemon)")
    agent.add_argument(
        "--username", help="MQTT user (with the example ACL: the employee id); password in CTI_AGENT_PASSWORD"
    )
    agent.add_argument("--ca-file", help="CA certificate for mqtts://")
    agent.add_argument("--status", help="ask for this presence status on connect (available, busy, away...)")
    agent.add_argument("--note", help="a note with --status")
    agent.add_argument(
        "--lines",
        choices=["mine", "all"],
        default="mine",
        help="line changes shown: mine (default: own line and the lines of own calls) or all",
    )

    imp = sub.add_parser(
        "import",
        help="load customers, documents, employees, the purposes' second level or follow-up calls from CSV",
        description="Columns, in any order (extra ones ignored): "
        "customers: customer_id,name,kind,tax_id,phones,vin,plate,model,year,crm_service,crm_sales,crm_parts "
        "(phones separated by ';', one row per vehicle); "
        "documents: document_id,customer_id,kind,number,status,purpose,owner_employee_id,opened_at,vin; "
        "employees: id,name,login,extension,devices,purposes; "
        "purposes: purpose,code,name,position,active (the second level of a contact's purpose; the file is "
        "the truth for each purpose it lists: the ones it leaves out are deactivated); "
        "followups: phone,reason,due_at,customer_id,employee_id,purpose,id (calls to make; employee_id or "
        "purpose says who; a row whose id is in the store updates it). "
        "Re-importing updates, never duplicates. "
        "Exit 0: every row taken; 1: some rows refused (listed on stderr with their lines), the import "
        "stopped part-way, or no database; 2: unusable file or header.",
    )
    imp.add_argument("kind", choices=["customers", "documents", "employees", "purposes", "followups"])
    imp.add_argument("file", type=Path, help="the CSV file (UTF-8 or Windows-1251, comma-separated)")
    imp.add_argument("--config", type=Path)
    imp.add_argument(
        "--encoding", default="auto", choices=["auto", "utf-8", "utf-8-sig", "cp1251"], help="default: detect"
    )
    imp.add_argument("--batch-size", type=int, default=2000, help="rows per transaction (default 2000)")

    cli_users.add_parser(sub, _Parser)

    sim = sub.add_parser("simulate-pbx", help="the PBX simulator alone: an AMI server on loopback")
    sim.add_argument("--listen", default="127.0.0.1:5038", help="HOST:PORT (default 127.0.0.1:5038)")
    sim.add_argument("--scenario", default="inbound", help="what the PBX does (see --list-scenarios)")
    sim.add_argument("--list-scenarios", action="store_true")
    sim.add_argument("--username", default="cti")
    sim.add_argument("--secret", default="secret")
    sim.add_argument("--calls-per-minute", type=float, default=6.0)
    sim.add_argument("--calls-per-second", type=float, default=1.0, help="the load scenario's rate")
    return parser


def _load(path: Path | None, *, require_secret: bool) -> config_mod.Config:
    chosen = path if path is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    return config_mod.load(chosen, require_secret=require_secret)


def _log_store(cfg: config_mod.Config, command: str) -> None:
    """Which store a command works on, absolute, so an administrator sees they all use the same one."""
    logs.get("cti.cli").info(
        "store.location", command=command, store=store_url.store_location(cfg.database.url)
    )


def _report(exc: config_mod.ConfigError) -> int:
    for problem in exc.problems:
        sys.stderr.write(f"{problem}\n")
    return EXIT_USAGE


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        cfg = _load(args.config, require_secret=True)
    except config_mod.ConfigError as exc:
        return _report(exc)
    where = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else "defaults and environment")
    mqtt = cfg.mqtt.url.split("@")[-1]
    print(f"ok: {where} (AMI {cfg.ami.host}:{cfg.ami.port}, MQTT {mqtt}, node {cfg.mqtt.node_id})")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    try:
        cfg = _load(args.config, require_secret=True)
    except config_mod.ConfigError as exc:
        return _report(exc)
    logs.configure(
        level=cfg.logging.level, fmt=cfg.logging.format, secrets=[s.reveal() for s in cfg.secrets()]
    )
    _log_store(cfg, "run")
    from cti_daemon.app import Daemon  # noqa: PLC0415 - keeps `check-config` fast

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        daemon = Daemon(cfg)
        loop.add_signal_handler(signal.SIGHUP, daemon.reload_tokens)
        async with daemon:
            await stop.wait()

    asyncio.run(main())
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    if args.db_command == "upgrade":
        return cmd_db_upgrade(args)
    try:
        cfg = _load(args.config, require_secret=False)
    except config_mod.ConfigError as exc:
        return _report(exc)
    logs.configure(
        level=cfg.logging.level, fmt=cfg.logging.format, secrets=[s.reveal() for s in cfg.secrets()]
    )
    _log_store(cfg, f"db {args.db_command}")
    if args.db_command == "backup":
        return cli_db.cmd_backup(cfg, args.file)
    return cli_db.cmd_prune(cfg, args.days)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    try:
        cfg = _load(args.config, require_secret=False)
    except config_mod.ConfigError as exc:
        return _report(exc)
    logs.configure(
        level=cfg.logging.level, fmt=cfg.logging.format, secrets=[s.reveal() for s in cfg.secrets()]
    )
    _log_store(cfg, "db upgrade")
    where = store_url.store_location(cfg.database.url)
    from cti_daemon.crm.schema import UpgradeResult  # noqa: PLC0415
    from cti_daemon.crm.store import StoreError, open_store  # noqa: PLC0415

    async def main() -> UpgradeResult:
        store = open_store(cfg.database.url)
        try:
            return await store.upgrade_schema()
        finally:
            await store.dispose()

    try:
        result = asyncio.run(main())
    except (StoreError, OSError) as exc:
        sys.stderr.write(f"db upgrade: cannot reach the database: {exc}\n")
        return EXIT_FAILED
    if result.adopted:
        print(f"db upgrade: {where}: a database from before the migrations was taken over (revision 0001)")
    if result.changed:
        print(f"db upgrade: {where}: migrated from {result.before or 'an empty database'} to {result.after}")
    else:
        print(f"db upgrade: {where}: schema is up to date (revision {result.after})")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    try:
        cfg = _load(args.config, require_secret=False)
    except config_mod.ConfigError as exc:
        return _report(exc)
    if args.batch_size < 1:
        sys.stderr.write("import: --batch-size must be at least 1\n")
        return EXIT_USAGE
    logs.configure(level="warning", fmt=cfg.logging.format, secrets=[s.reveal() for s in cfg.secrets()])
    # The import's own log level is warning (its summary is the output): the store goes on stderr as text.
    sys.stderr.write(f"import: store {store_url.store_location(cfg.database.url)}\n")
    from cti_daemon.crm.importing import command  # noqa: PLC0415
    from cti_daemon.crm.numbers import NumberRules  # noqa: PLC0415
    from cti_daemon.crm.store import open_store  # noqa: PLC0415

    rules = NumberRules(
        cfg.phone.default_region,
        international_prefixes=cfg.phone.international_prefix,
        internal_max_digits=cfg.phone.internal_max_digits,
    )

    async def main() -> int:
        store = open_store(cfg.database.url)
        try:
            return await command.run(
                store,
                args.kind,
                args.file,
                rules=rules,
                encoding=args.encoding,
                batch_size=args.batch_size,
                out=sys.stdout,
                err=sys.stderr,
            )
        finally:
            await store.dispose()

    return asyncio.run(main())


def cmd_demo(args: argparse.Namespace) -> int:
    if args.calls_per_minute <= 0:
        sys.stderr.write("demo: --calls-per-minute must be greater than 0\n")
        return EXIT_USAGE
    logs.configure(level="warning", fmt="console")
    from cti_daemon.demo.broker import BrokerUnavailableError  # noqa: PLC0415
    from cti_daemon.demo.runner import main  # noqa: PLC0415

    try:
        main(args.port_base, args.calls_per_minute, args.duration, sys.stdout)
    except BrokerUnavailableError as exc:
        sys.stderr.write(f"demo: {exc}\n")
        return EXIT_FAILED
    return EXIT_OK


def cmd_users(args: argparse.Namespace) -> int:
    try:
        cfg = _load(args.config, require_secret=False)
    except config_mod.ConfigError as exc:
        return _report(exc)
    logs.configure(level="warning", fmt=cfg.logging.format, secrets=[s.reveal() for s in cfg.secrets()])
    return cli_users.run(args, cfg, sys.stdin, sys.stdout, sys.stderr)


def cmd_agent(args: argparse.Namespace) -> int:
    from cti_daemon.agent.client import AgentOptions, run_agent  # noqa: PLC0415

    if not args.employee.strip() or any(c in args.employee for c in "/#+"):
        sys.stderr.write("agent: --employee must be an employee id without '/', '#' or '+'\n")
        return EXIT_USAGE
    if not args.mqtt.startswith(("mqtt://", "mqtts://")):
        sys.stderr.write(f"agent: --mqtt must look like mqtt://host:1883, not {args.mqtt!r}\n")
        return EXIT_USAGE
    if args.note is not None and args.status is None:
        sys.stderr.write("agent: --note goes with --status\n")
        return EXIT_USAGE
    options = AgentOptions(
        employee_id=args.employee,
        url=args.mqtt,
        prefix=args.prefix,
        username=args.username,
        password=os.environ.get("CTI_AGENT_PASSWORD") or None,  # never on the command line (ps shows it)
        ca_file=args.ca_file,
        status=args.status,
        note=args.note,
        lines=args.lines,
    )
    run_agent(options, sys.stdout, sys.stderr)
    return EXIT_OK


def cmd_simulate_pbx(args: argparse.Namespace) -> int:
    from cti_daemon.ami.simulator.cli import SCENARIOS, serve  # noqa: PLC0415

    if args.list_scenarios:
        for name, doc in SCENARIOS.items():
            print(f"{name:24} {doc}")
        return EXIT_OK
    if args.scenario not in SCENARIOS:
        sys.stderr.write(
            f"simulate-pbx: unknown scenario {args.scenario!r} (known: {', '.join(SCENARIOS)})\n"
        )
        return EXIT_USAGE
    host, sep, port = args.listen.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()):
        sys.stderr.write(f"simulate-pbx: --listen must be HOST:PORT, not {args.listen!r}\n")
        return EXIT_USAGE
    logs.configure(level="info", secrets=[args.secret])
    asyncio.run(
        serve(
            host or "127.0.0.1",
            int(port),
            scenario=args.scenario,
            username=args.username,
            secret=args.secret,
            calls_per_minute=args.calls_per_minute,
            calls_per_second=args.calls_per_second,
        )
    )
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "check-config": cmd_check_config,
    "demo": cmd_demo,
    "db": cmd_db,
    "import": cmd_import,
    "simulate-pbx": cmd_simulate_pbx,
    "agent": cmd_agent,
    "users": cmd_users,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return EXIT_OK
    except OSError as exc:
        sys.stderr.write(f"cti-daemon {args.command}: {exc}\n")
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
