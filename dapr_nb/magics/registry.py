"""The ``%dapr`` command table: one :class:`Command` per ``group verb`` (line or cell form), and the dispatcher.

Rule: a command module registers each handler ``run(ctx, args)`` with :func:`command`, giving its summary,
the function that declares its arguments, and its examples; nothing else describes a command, so help
(``help.py``) derives usage from the parser. The handler reads plain text with ``ctx.text`` and data with
``ctx.value``, calls the sync client, and returns a typed result. Every problem that reaches the user is an
:class:`~IPython.core.error.UsageError` with one short line: argparse errors (an unknown option or command
named with the nearest one), Dapr errors (their one-line summary) and bad values alike.
"""

from __future__ import annotations

import argparse
import difflib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

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
H = TypeVar("H", bound=Handler)
HELP_FLAGS = ("-h", "--help")
"""What asks for a command's help instead of running it (``%dapr state set --help``)."""


class HelpRequested(Exception):
    """Raised by ``-h`` / ``--help``: the registry answers with the command's help instead of running it."""


class _HelpAction(argparse.Action):
    """``-h`` / ``--help``: stop parsing and ask for help (left out of usage lines; the intro names it)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, argparse.SUPPRESS, nargs=0, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise HelpRequested


def closest(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the choice nearest a mistyped word, or ``""``."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""


class Parser(argparse.ArgumentParser):
    """An argparse parser that raises one-line UsageErrors instead of printing and exiting.

    ``-h`` / ``--help`` raise :class:`HelpRequested`; an unknown option is refused by name, with the nearest
    option the command takes.
    """

    def __init__(self, prog: str, magic: str = "%dapr") -> None:
        super().__init__(prog=prog, add_help=False, allow_abbrev=False)
        self.magic = magic
        self.add_argument(*HELP_FLAGS, action=_HelpAction)

    def parse(self, argv: list[str]) -> argparse.Namespace:
        """Parse ``argv``; anything left over is a UsageError (an unknown option named, with a suggestion)."""
        args, extra = self.parse_known_args(argv)
        if extra:
            self.error(self._leftover(extra))
        for action in self._actions:  # argparse < 3.12 turns a value that is a lone "--" into []
            if not action.option_strings and action.nargs in (None, "?") and getattr(args, action.dest) == []:
                self.error(f"{action.metavar or action.dest} needs a value (a lone -- is not one)")
        return args

    def options(self) -> list[str]:
        """Return the option strings this parser accepts (help left out)."""
        return [s for a in self._actions if a.help != argparse.SUPPRESS for s in a.option_strings]

    def _leftover(self, extra: list[str]) -> str:
        unknown = next((t for t in extra if _looks_like_option(t)), None)
        if unknown is None:
            return f"unrecognized arguments: {' '.join(extra)}"
        if unknown in ("-o", "--out"):
            return "-o NAME is for the %%dapr cell magic; in a line magic write NAME = %dapr ..."
        options = self.options()
        hint = closest(unknown, options) or (f"; it takes {', '.join(options)}" if options else "; it takes no options")
        return f"unknown option {unknown!r}{hint}"

    def error(self, message: str) -> NoReturn:
        """Raise the problem as a UsageError naming the command."""
        raise UsageError(f"{self.magic} {self.prog}: {message} (see %dapr {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """Never exit the kernel: raise instead."""
        raise UsageError(f"{self.magic} {self.prog}: {(message or 'bad arguments').strip()}")


def _looks_like_option(token: str) -> bool:
    """Return whether a left-over token was meant as an option (``--tll``), not a value (``-``, ``-5``)."""
    try:
        float(token)
    except ValueError:
        return token.startswith("-") and len(token) > 1
    return False


@dataclass(frozen=True)
class Command:
    """One sub-command: ``group [verb]`` in line or cell form, its arguments, handler, help line and examples.

    There is no usage text here: help derives it from :meth:`parser`, so it always lists what the parser takes.
    """

    group: str
    verb: str
    summary: str
    build: Build
    run: Handler
    cell: bool = False
    body: str = ""
    examples: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Return ``group verb`` (or just the group)."""
        return f"{self.group} {self.verb}".strip()

    @property
    def magic(self) -> str:
        """Return how the command is called: ``%dapr NAME`` or ``%%dapr NAME``."""
        return ("%%dapr " if self.cell else "%dapr ") + self.name

    def parser(self) -> Parser:
        """Return a fresh parser for this command (with ``-o NAME`` in cell form)."""
        parser = Parser(self.name, "%%dapr" if self.cell else "%dapr")
        self.build(parser)
        if self.cell:
            parser.add_argument("-o", "--out", metavar="NAME", help="store the result in this variable")
        return parser


def command(
    name: str, summary: str, build: Build, *, examples: Iterable[str], cell: bool = False, body: str = ""
) -> Callable[[H], H]:
    """Register the decorated handler as ``%dapr NAME`` (``%%dapr NAME`` with ``cell=True``).

    ``build`` declares the arguments (help derives the usage from it); ``examples`` are cells a user can run,
    each starting with the magic (``df = %dapr ...`` is fine); ``body`` says what a cell's body holds.
    """
    group, _, verb = name.partition(" ")

    def register(run: H) -> H:
        REGISTRY.add(Command(group, verb, summary, build, run, cell, body, tuple(examples)))
        return run

    return register


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
        """Return the command named by the first tokens and the remaining arguments.

        ``--help`` / ``-h`` in place of a group or verb (``%dapr --help``, ``%dapr state --help``, also
        ``%dapr state help``) names the help command; a mistyped group or verb is refused with the nearest one.
        """
        group = tokens[0]
        if group in HELP_FLAGS:
            return self._help(), []
        verbs = self.verbs(group)
        if not verbs:
            hint = closest(group, self.groups()) or f"; commands: {', '.join(self.groups())}"
            raise UsageError(f"unknown command {group!r}{hint} (see %dapr help)")
        verb = ""
        if verbs != [""]:
            given = tokens[1] if len(tokens) > 1 else ""
            if given in (*HELP_FLAGS, "help") and "help" not in verbs:
                return self._help(), [group]
            if given not in verbs:
                listed = f"; verbs: {', '.join(v for v in verbs if v)}"
                what = f"unknown verb {given!r}{closest(given, verbs) or listed}" if given else "a verb is needed"
                raise UsageError(f"%dapr {group}: {what}{'' if given else listed} (see %dapr help {group})")
            verb = given
        argv = tokens[2 if verb else 1 :]
        command = self.commands.get((group, verb, cell))
        if command is None:
            if any(token in HELP_FLAGS for token in argv):
                return self._help(), [group, verb] if verb else [group]
            other = "%%dapr (a cell magic, with a body)" if not cell else "%dapr (a line magic, without a body)"
            raise UsageError(f"{group} {verb}".strip() + f" is used as {other}; see %dapr help {group}")
        return command, argv

    def _help(self) -> Command:
        found = self.commands.get(("help", "", False))
        if found is None:
            raise UsageError("no help is registered")
        return found

    def dispatch(self, ctx: Context, cell: bool) -> tuple[Any, argparse.Namespace]:
        """Parse the context's line, run its command; return the result and the parsed arguments.

        ``--help`` anywhere in the arguments runs ``%dapr help GROUP VERB`` instead.
        """
        command, argv = self.find(ctx.line.tokens, cell)
        try:
            args = command.parser().parse(argv)
        except HelpRequested:
            return self.dispatch(replace(ctx, line=Line(["help", *command.name.split()])), False)
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
