"""``%dapr help [GROUP [VERB]]`` and ``--help``: usage, options and examples, derived from the command table.

Rule: no usage text is written by hand. A usage line and an option list come from the command's own
parser (as IPython's ``magic_arguments`` derives a magic's docstring), so help can only say what the parser
accepts; summaries, body descriptions and examples come from the command's registration.
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from IPython.core.error import UsageError

from .registry import REGISTRY, Command, Context, closest, command
from .session import Options
from .views import Text

INTRO = """\
%dapr — talk to a Dapr sidecar from this notebook.

  %dapr GROUP [VERB] ARGS...                line magic: returns its result (df = %dapr state get ...)
  %%dapr GROUP [VERB] ARGS... [-o NAME]     cell magic: the body is JSON or YAML; -o stores the result
  %dapr help GROUP [VERB]                   usage, options and examples (or: %dapr GROUP [VERB] --help)
  {{name}} inserts a variable's text; :name passes a variable's value as data.
"""

_WIDTH = 64
"""Usage lines up to this width share their line with the summary."""


def _shown(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Return the parser's documented arguments (``--help`` itself is left out), positionals first."""
    actions = [a for a in parser._actions if a.help != argparse.SUPPRESS]
    return sorted(actions, key=lambda a: bool(a.option_strings))


def _values(action: argparse.Action) -> str:
    """Return how an argument's values are written: ``V``, ``[V]``, ``[V ...]``, ``V [V ...]``; ``""`` for a flag."""
    name = str(action.metavar or action.dest.upper())
    if action.nargs == 0:
        return ""
    if action.nargs == "?":
        return f"[{name}]"
    if action.nargs == "*":
        return f"[{name} ...]"
    if action.nargs == "+":
        return f"{name} [{name} ...]"
    if isinstance(action.nargs, int):
        return " ".join([name] * action.nargs)
    return name


def _term(action: argparse.Action) -> str:
    """Return one argument as written in a usage line (an option by its first flag: ``-o NAME``)."""
    if not action.option_strings:
        return _values(action)
    return f"{action.option_strings[0]} {_values(action)}".strip()


def _flags(action: argparse.Action) -> str:
    """Return an option with all its flags, as the option list shows it (``-o, --out NAME``)."""
    return f"{', '.join(action.option_strings)} {_values(action)}".strip()


def usage(command: Command) -> str:
    """Return the command's usage line, built from its parser: positionals, then options (``[...]`` if optional).

    Mutually exclusive options are written ``(--a A | --b B)`` when one is required, else ``[--a A | --b B]``.
    """
    parser = command.parser()
    exclusive = {id(a): g for g in parser._mutually_exclusive_groups for a in g._group_actions}
    terms: list[str] = []
    seen: set[int] = set()
    for action in _shown(parser):
        group = exclusive.get(id(action))
        if group is None:
            optional = action.option_strings and not action.required
            terms.append(f"[{_term(action)}]" if optional else _term(action))
        elif id(group) not in seen:
            seen.add(id(group))
            inner = " | ".join(_term(a) for a in group._group_actions if a.help != argparse.SUPPRESS)
            terms.append(f"({inner})" if group.required else f"[{inner}]")
    return " ".join([command.magic, *terms])


def _describe(action: argparse.Action) -> str:
    """Return an argument's help, with its default when it has one worth naming."""
    text = action.help or ""
    default = action.default
    if default is not None and default is not False and default != argparse.SUPPRESS and "default" not in text:
        text += f" (default: {default})"
    return text.strip()


def _listing(command: Command) -> str:
    """Return the command's usage line with its summary (on the next line when the usage is long)."""
    line = usage(command)
    if len(line) <= _WIDTH:
        return f"  {line:<{_WIDTH}} {command.summary}"
    return f"  {line}\n  {'':<{_WIDTH}} {command.summary}"


def _examples(commands: list[Command]) -> list[str]:
    lines = [f"    {line}" for c in commands for example in c.examples for line in example.splitlines()]
    return ["  examples:", *lines] if lines else []


def command_help(command: Command) -> str:
    """Return one command's help: usage, summary, body, every argument with its help, examples."""
    parser = command.parser()
    rows = [(_flags(a) if a.option_strings else str(a.metavar or a.dest.upper()), _describe(a)) for a in _shown(parser)]
    rows = [(left, right) for left, right in rows if right or left.startswith("-")]
    width = max((len(left) for left, _ in rows), default=0)
    lines = [usage(command), f"  {command.summary}"]
    if command.body:
        lines.append(f"  body: {command.body}")
    if rows:
        lines += ["", *(f"  {left:<{width}}  {right}".rstrip() for left, right in rows)]
    return "\n".join([*lines, "", *_examples([command])])


def group_help(group: str) -> str:
    """Return a group's help: each command's usage and summary, then the group's examples.

    A group without verbs (``publish``, ``status``) shows each form's full help instead.
    """
    commands = REGISTRY.in_group(group)
    if REGISTRY.verbs(group) == [""]:
        return "\n\n".join(command_help(c) for c in commands)
    more = f"  More: %dapr help {group} VERB (or %dapr {group} VERB --help) for a command's options."
    return "\n".join([f"{group}:", *(_listing(c) for c in commands), *_examples(commands), more])


def overview() -> Text:
    """Return every command's usage and summary, grouped."""
    settings = " / ".join(f.name for f in fields(Options))
    sections = [f"{g}:\n" + "\n".join(_listing(c) for c in REGISTRY.in_group(g)) for g in REGISTRY.groups()]
    tail = "  More: %dapr help GROUP (examples), %dapr help GROUP VERB (options)."
    return Text(f"{INTRO}  Settings: %config Dapr.{settings}.\n\n" + "\n\n".join(sections) + f"\n\n{tail}")


def _help_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("group", metavar="GROUP", nargs="?", help="a command group (state, publish, workflow, ...)")
    p.add_argument("verb", metavar="VERB", nargs="?", help="one of the group's verbs (get, set, ...)")


def _verb_help(group: str, verb: str) -> Text:
    verbs = [v for v in REGISTRY.verbs(group) if v]
    if verb not in verbs:
        hint = closest(verb, verbs) or (f"; verbs: {', '.join(verbs)}" if verbs else f"; {group} takes no verb")
        raise UsageError(f"no help for '{group} {verb}'{hint}")
    return Text("\n\n".join(command_help(c) for c in REGISTRY.in_group(group) if c.verb == verb))


@command(
    "help", "this help", _help_args,
    examples=["%dapr help", "%dapr help state", "%dapr help state set"],
)  # fmt: skip
def show(ctx: Context, args: argparse.Namespace) -> Text:
    """Return the overview, a group's help, or one command's help."""
    if args.group is None:
        return overview()
    groups = REGISTRY.groups()
    if args.group not in groups:
        raise UsageError(f"no help for {args.group!r}{closest(args.group, groups) or '; groups: ' + ', '.join(groups)}")
    if args.verb is not None:
        return _verb_help(args.group, args.verb)
    return Text(group_help(args.group))
