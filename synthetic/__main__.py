"""Command line: ``python -m synthetic --out DIR --scale S --seed N``."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from .defects import DefectRates
from .generate import generate


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m synthetic",
                                     description="Generate synthetic CBCCVC extracts, registry and truth.")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--scale", type=float, required=True, help="1.0 = national size (1,436,507 records)")
    parser.add_argument("--seed", type=int, required=True, help="random seed (same seed, same bytes)")
    parser.add_argument("--registry-size", type=int, default=None,
                        help="registry persons (default: 10M at scale 1, else max(10M*scale, 2*records))")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="snapshot date YYYY-MM-DD (default: today)")
    parser.add_argument("--defect-scale", type=float, default=1.0,
                        help="multiply every defect rate (0 = no record defects; default 1)")
    parser.add_argument("--rate", action="append", default=[], metavar="DEFECT=SHARE",
                        help="set one defect rate after --defect-scale, e.g. --rate blank_id=0.10 "
                             "--rate not_in_registry=0.05 (names as in DefectRates; repeatable)")
    return parser.parse_args(argv)


def defect_rates(defect_scale: float, settings: list[str]) -> DefectRates:
    """The default rates times `defect_scale`, then each `DEFECT=SHARE` setting; ValueError on a bad one."""
    rates = DefectRates().scaled(defect_scale)
    known = rates.as_dict()
    changes: dict[str, float] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in known:
            raise ValueError(f"unknown defect {name!r} in --rate {setting!r}; known: {', '.join(known)}")
        share = float(value)
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"--rate {setting!r}: a share between 0 and 1 is needed")
        changes[name] = share
    return replace(rates, **changes)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.seed < 0 or args.defect_scale < 0:
        print("--seed and --defect-scale must be non-negative", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        rates = defect_rates(args.defect_scale, args.rate)
        summary = generate(args.out, args.scale, args.seed, args.registry_size, args.as_of, rates)
    except (FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(f"wrote {summary.n_records} records in {summary.n_files} files, "
          f"registry of {summary.registry_size} persons, as of {summary.as_of} to {summary.out} "
          f"({elapsed:.1f} s)")
    if args.registry_size is not None and summary.registry_size > args.registry_size:
        print(f"note: registry raised from {args.registry_size} to {summary.registry_size} persons "
              "so that every registered employee is in it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
