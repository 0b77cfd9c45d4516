"""``tickets``: generated labelled support tickets, a LABEL,text CSV for ``demo --data`` and ``run``."""

from __future__ import annotations

import argparse
import sys

from local import datagen
from local.cli.base import Arg, ExitCode, command, say


@command(
    "tickets",
    "print generated labelled support tickets as a LABEL,text CSV (sample data for demo --data and run)",
    Arg("--rows", type=int, default=500, help="how many tickets (default: %(default)s)"),
    Arg(
        "--seed",
        type=int,
        default=1,
        help="random seed: the same seed, the same tickets (default: %(default)s)",
    ),
    Arg(
        "--noise",
        type=float,
        default=0.0,
        help="fraction of tickets given a wrong label (default: %(default)s)",
    ),
    order=70,
)
def tickets(args: argparse.Namespace) -> int:
    """Support tickets in five categories (BILLING, SHIPPING, TECHNICAL, ACCOUNT, RETURNS), varied phrasing
    and typos (local/datagen.py), balanced over the labels, as the CSV the workflow takes: no header,
    LABEL,text on every line (RFC 4180 quoting)."""
    if args.rows < 0 or not 0 <= args.noise <= 1:
        say("--rows must be >= 0 and --noise between 0 and 1", err=True)
        return ExitCode.USAGE
    sys.stdout.buffer.write(datagen.to_csv(datagen.generate(args.rows, seed=args.seed, noise=args.noise)))
    sys.stdout.flush()
    return ExitCode.OK
