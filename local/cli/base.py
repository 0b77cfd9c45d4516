"""The command registry, the exit codes and ``main`` of ``comprehend-al``.

A subcommand is a function ``(args) -> int`` decorated with :func:`command`, in any module of the
``local.cli`` package (``main`` imports them all)::

    @command("hello", "say hello", Arg("--name", default="world"))
    def hello(args: argparse.Namespace) -> int:
        say(f"hello {args.name}")
        return ExitCode.OK
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

PROG = "comprehend-al"
ROOT = Path(__file__).resolve().parents[2]

for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    # the functions' own logs: errors only (each round says what happened; `invoke` shows a function's logs)
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(_name, _value)  # offline: never real credentials, never a real account


class ExitCode(IntEnum):
    """What the exit status of every subcommand means (also printed by ``comprehend-al --help``)."""

    OK = 0  # it did what it says
    FAILED = 1  # an execution or a function failed, an HTTP call was refused, or a demo missed its promise
    USAGE = 2  # bad arguments or unreadable input files (argparse's own code)
    NO_MODEL = 3  # the data cannot produce a model: waiting for data, quarantined, no usable test set
    NOT_RUNNING = 4  # nothing to talk to: no `serve` is running
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (what was started is stopped and its state removed)


EXIT_CODES_HELP = """exit status:
  0    done as described
  1    failed: an execution or a function failed, an HTTP call was refused, a demo missed its promise
  2    usage: bad arguments or an unreadable input file
  3    no model: the data cannot produce one (waiting for data, quarantined, no usable test set)
  4    not running: no `comprehend-al serve` to talk to
  130  interrupted (Ctrl-C, SIGTERM): what it started is stopped and its state removed"""


class UsageError(Exception):
    """Bad input a user can fix (a missing file, a CSV that cannot be read): exit 2 with the message."""


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call."""

    flags: tuple[str, ...]
    options: dict[str, Any]

    def __init__(self, *flags: str, **options: Any) -> None:
        object.__setattr__(self, "flags", flags)
        object.__setattr__(self, "options", options)

    def add_to(self, parser: Any) -> None:
        parser.add_argument(*self.flags, **self.options)


@dataclass(frozen=True)
class OneOf:
    """Mutually exclusive arguments."""

    arguments: tuple[Arg, ...]
    required: bool = False

    def add_to(self, parser: Any) -> None:
        group = parser.add_mutually_exclusive_group(required=self.required)
        for argument in self.arguments:
            argument.add_to(group)


@dataclass
class Command:
    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: tuple[Arg | OneOf, ...] = ()
    description: str = ""
    order: int = 50


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, *arguments: Arg | OneOf, order: int = 50, description: str = ""
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register a subcommand; ``order`` places it in ``--help`` (lower first, then by name)."""

    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        if name in COMMANDS and COMMANDS[name].run is not run:
            raise ValueError(f"two subcommands named {name!r}")
        text = description or (run.__doc__ or help)
        COMMANDS[name] = Command(name, help, run, arguments, text, order)
        return run

    return register


def load_commands() -> dict[str, Command]:
    """Import every module of ``local.cli`` (each registers its subcommands) and return the registry."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__package__}.{module.name}")
    return COMMANDS


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog=PROG,
        description="The offline stack of the Comprehend active-learning application: the real template, "
        "state machine and handlers against moto and a local Comprehend-compatible service.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for spec in sorted(load_commands().values(), key=lambda c: (c.order, c.name)):
        p = sub.add_parser(
            spec.name,
            help=spec.help,
            description=spec.description,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for argument in spec.arguments:
            argument.add_to(p)
        p.set_defaults(func=spec.run)
    return top


def say(message: str = "", *, end: str = "\n", err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(message + end)
    stream.flush()


def _terminate(signum: int, _: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("moto").setLevel(logging.ERROR)  # e.g. "no CloudFormation support for BucketPolicy"
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    args = parser().parse_args(argv)
    previous = None
    if threading_main():
        previous = signal.signal(signal.SIGTERM, _terminate)  # `clean` stops a `serve`: clean up as on Ctrl-C
    try:
        return int(args.func(args))
    except UsageError as error:
        say(f"{PROG} {args.command}: {error}", err=True)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        say("\ninterrupted: stopped what this command started", err=True)
        return ExitCode.INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
