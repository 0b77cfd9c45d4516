"""``comprehend-al``: the command line of the offline stack (installed into ``.venv`` by ``make venv``).

Every subcommand is one function decorated with :func:`local.cli.base.command` in a module of this package;
:func:`main` imports all of the package's modules, so adding a subcommand is one new module here (see
``clean.py`` for a small example), with nothing to register anywhere else.
"""

from __future__ import annotations

from local.cli.base import ExitCode, command, main

__all__ = ["ExitCode", "command", "main"]
