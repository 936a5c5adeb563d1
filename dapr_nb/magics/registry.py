"""The ``%dapr`` command table: one :class:`Command` per ``group verb`` (line or cell form), and the dispatcher.

Rule: a command module declares its arguments and a handler ``run(ctx, args)``; the handler reads plain
text with ``ctx.text`` and data with ``ctx.value``, calls the sync client, and returns a typed result.
Every problem that reaches the user is an :class:`~IPython.core.error.UsageError` with one short line:
argparse errors, Dapr errors (their one-line summary) and bad values alike.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.error import UsageError

from ..errors import DaprError
from .parsing import Line, parse_cell

if TYPE_CHECKING:
    from ..client import Client
    from .session import Options, Session

log = logging.getLogger("dapr_nb")

ORDER = (
    "help", "connect", "status", "sandbox", "state", "publish", "subscribe", "invoke", "binding", "secret",
    "config", "lock", "job", "metadata", "workflow",
)  # fmt: skip
"""The order groups are listed in (help, error messages)."""

Handler = Callable[["Context", argparse.Namespace], Any]
Build = Callable[[argparse.ArgumentParser], None]


class Parser(argparse.ArgumentParser):
    """An argparse parser that raises one-line UsageErrors instead of printing and exiting."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        """Raise the problem as a UsageError naming the command."""
        raise UsageError(f"%dapr {self.prog}: {message} (see %dapr help {self.prog.split()[0]})")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """Never exit the kernel: raise instead."""
        raise UsageError(f"%dapr {self.prog}: {(message or 'bad arguments').strip()}")


@dataclass(frozen=True)
class Command:
    """One sub-command: ``group [verb]`` in line or cell form, its arguments, handler and help line."""

    group: str
    verb: str
    usage: str
    summary: str
    build: Build
    run: Handler
    cell: bool = False

    @property
    def name(self) -> str:
        """Return ``group verb`` (or just the group)."""
        return f"{self.group} {self.verb}".strip()

    def parser(self) -> Parser:
        """Return a fresh parser for this command (with ``-o NAME`` in cell form)."""
        parser = Parser(self.name)
        self.build(parser)
        if self.cell:
            parser.add_argument("-o", "--out", metavar="NAME", help="store the result in this variable")
        return parser


@dataclass
class Context:
    """What a handler gets: the session, the magics' settings, the split line and the cell body."""

    session: Session
    config: Options
    line: Line
    namespace: Mapping[str, Any]
    body: str | None = None

    @property
    def client(self) -> Client:
        """Return the sync client for the current connection."""
        return self.session.client(self.config)

    def text(self, token: str, what: str) -> str:
        """Return a token that must be text (a store, key or topic name)."""
        return self.line.text(token, what)

    def value(self, token: str | None) -> Any:
        """Return the Python value of a data token (``:name`` binding, JSON, or text)."""
        return self.line.value(token)

    def body_value(self, what: str) -> Any:
        """Return the cell body as data: a lone ``:name`` binds that variable, else JSON or YAML."""
        return parse_cell(self.body or "", self.namespace, what)


class Registry:
    """Commands by ``(group, verb, cell)``; finds the command a line names and runs it."""

    def __init__(self) -> None:
        self.commands: dict[tuple[str, str, bool], Command] = {}

    def add(self, *commands: Command) -> None:
        """Register commands."""
        for command in commands:
            self.commands[(command.group, command.verb, command.cell)] = command

    def groups(self) -> list[str]:
        """Return the group names, in the order of ``ORDER`` (then registration order)."""
        names = list(dict.fromkeys(group for group, _, _ in self.commands))
        return sorted(names, key=lambda g: ORDER.index(g) if g in ORDER else len(ORDER))

    def verbs(self, group: str) -> list[str]:
        """Return the verbs of a group ('' for a group without verbs)."""
        return list(dict.fromkeys(verb for g, verb, _ in self.commands if g == group))

    def in_group(self, group: str) -> list[Command]:
        """Return the commands of a group."""
        return [c for (g, _, _), c in self.commands.items() if g == group]

    def find(self, tokens: list[str], cell: bool) -> tuple[Command, list[str]]:
        """Return the command named by the first tokens and the remaining arguments."""
        group = tokens[0]
        verbs = self.verbs(group)
        if not verbs:
            raise UsageError(f"unknown command {group!r}; groups: {', '.join(self.groups())} (see %dapr help)")
        verb = ""
        if verbs != [""]:
            if len(tokens) < 2 or tokens[1] not in verbs:
                given = f"unknown verb {tokens[1]!r}" if len(tokens) > 1 else "a verb is needed"
                raise UsageError(f"%dapr {group}: {given}; verbs: {', '.join(v for v in verbs if v)}")
            verb = tokens[1]
        command = self.commands.get((group, verb, cell))
        if command is None:
            other = "%%dapr (a cell magic, with a body)" if not cell else "%dapr (a line magic, without a body)"
            raise UsageError(f"{group} {verb}".strip() + f" is used as {other}; see %dapr help {group}")
        return command, tokens[2 if verb else 1 :]

    def dispatch(self, ctx: Context, cell: bool) -> tuple[Any, argparse.Namespace]:
        """Parse the context's line, run its command; return the result and the parsed arguments."""
        command, argv = self.find(ctx.line.tokens, cell)
        args = command.parser().parse_args(argv)
        try:
            return command.run(ctx, args), args
        except DaprError as error:
            raise UsageError(one_line(error.summary())) from None
        except (ValueError, TypeError) as error:
            log.debug("dapr_nb: %s failed", command.name, exc_info=True)
            raise UsageError(one_line(f"%dapr {command.name}: {error}")) from None


def one_line(text: str, limit: int = 400) -> str:
    """Collapse a message to one line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


REGISTRY = Registry()
"""The commands of ``%dapr``; command modules add theirs on import."""
