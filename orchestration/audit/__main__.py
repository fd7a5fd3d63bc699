"""The audit trail of a published record: ``python -m orchestration.audit --token T [--as-of X] [--json]``.

An authorised user — one who holds the token key (``CBCCVC_TOKEN_KEY`` set in the environment) — may give a
personal ID instead with ``--id``; ``--id -`` reads it from standard input, so that it stays out of the shell
history. The ID is turned into its token at once and never printed.

Exit status: 0 when a published record was traced, 1 when none carries the token at that time, 2 on a
usage error, 3 when the warehouse stayed locked by a run for longer than ``CBCCVC_LOCK_WAIT_SECONDS``
(the audit waits for the lock and then reads a committed snapshot; it never shows a raw lock error).
"""

import argparse
import os
import sys
from pathlib import Path

import duckdb

from orchestration.audit.trail import Trail, build_trail, is_token, missing_tables, to_json, to_markdown
from orchestration.resources import PipelineSettings, WarehouseBusy, apply_environment_defaults
from orchestration.tokens import person_token

EXIT_BUSY = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchestration.audit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--token", help="the record's person token (64 hexadecimal characters)")
    who.add_argument("--id", dest="registry_id", metavar="ID",
                     help="a personal ID, for holders of the token key; '-' reads it from standard input")
    parser.add_argument("--as-of", help="a load id or an ISO timestamp: the trail of the snapshot in effect then")
    parser.add_argument("--json", action="store_true", help="print JSON instead of readable text")
    return parser


def _token(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    if args.token is not None:
        if not is_token(args.token):
            parser.error("--token takes a person token: 64 lower-case hexadecimal characters")
        return args.token
    # The key is what authorises a look-up by ID; the demo default must not stand in for it.
    key = os.environ.get("CBCCVC_TOKEN_KEY")
    if not key:
        parser.error("--id needs the token key in CBCCVC_TOKEN_KEY: only its holders may look a person up by ID")
    registry_id = (sys.stdin.readline() if args.registry_id == "-" else args.registry_id).strip()
    if not registry_id:
        parser.error("--id was given no ID")
    return person_token(key, registry_id)


def _trail(parser: argparse.ArgumentParser, con: duckdb.DuckDBPyConnection, token: str,
           as_of: str | None, data_dir: Path) -> Trail:
    missing = missing_tables(con)
    if missing:
        parser.error(f"the warehouse has no {', '.join(missing)} yet: publish with this version first")
    try:
        return build_trail(con, token, as_of, data_dir)
    except LookupError as error:
        parser.error(str(error))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    token = _token(parser, args)
    apply_environment_defaults()
    settings = PipelineSettings.from_environment()
    if not Path(settings.warehouse_path).is_file():
        parser.error(f"no warehouse at {settings.warehouse_path} (CBCCVC_WAREHOUSE)")
    # Read-only: an audit never changes the warehouse. A run holds the write lock only during a step.
    try:
        with settings.connect(read_only=True) as con:
            trail = _trail(parser, con, token, args.as_of, settings.data_path)
    except WarehouseBusy as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_BUSY
    print(to_json(trail) if args.json else to_markdown(trail), end="" if not args.json else "\n")
    return 0 if trail.records else 1


if __name__ == "__main__":
    sys.exit(main())
