"""``%dapr`` help is derived from the parsers: every option documented, every example accepted, typos answered.

The help cells run through a real InteractiveShell pointed at a port nobody listens on: help never needs a
sidecar. Examples are split and parsed exactly as a cell would be, so an example that drifts from its parser fails.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dapr_nb.magics.help import command_help, group_help, overview, usage
from dapr_nb.magics.parsing import parse_cell, split
from dapr_nb.magics.registry import REGISTRY, Command

if TYPE_CHECKING:
    from magics_support import Cells

pytest_plugins = ["magics_support"]

COMMANDS = sorted(REGISTRY.commands.values(), key=lambda c: (c.group, c.verb, c.cell))
ROOT = Path(__file__).resolve().parent.parent
README, NOTEBOOKS = ROOT / "README.md", ROOT / "notebooks"


def _flags(text: str) -> set[str]:
    """Return the option flags written in a usage line or a README row."""
    return set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", text))


def _documented(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.help != argparse.SUPPRESS]


class _AnyName(dict[str, Any]):
    """A namespace in which every variable exists, so ``{{iid}}`` and ``:order`` in examples resolve."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return "x"


@pytest.fixture
def offline(cells: Cells) -> Cells:
    """A cell runner whose sidecar endpoint refuses connections (help must not need one)."""
    cells.run("%config Dapr.endpoint = '127.0.0.1:1'")
    return cells


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.magic)
def test_help_lists_every_argument_the_parser_takes(command: Command) -> None:
    line, text = usage(command), command_help(command)
    for action in _documented(command.parser()):
        if action.option_strings:
            assert action.help, f"{command.magic} {action.option_strings[0]} has no help text"
            assert action.option_strings[0] in _flags(line), (action.option_strings, line)
            assert all(flag in text for flag in action.option_strings), (action.option_strings, text)
        else:
            assert str(action.metavar or action.dest.upper()) in line, (action.dest, line)
    assert text.startswith(line + "\n") and command.summary in text
    assert command.examples, f"{command.magic} has no example"
    assert all(example.splitlines()[0] in text for example in command.examples)


@pytest.mark.parametrize(
    ("command", "example"),
    [(c, e) for c in COMMANDS for e in c.examples],
    ids=lambda v: v.splitlines()[0] if isinstance(v, str) else v.magic,
)
def test_every_example_is_accepted_by_its_command(command: Command, example: str) -> None:
    first, _, body = example.partition("\n")
    magic = re.sub(r"^\w+ = ", "", first)
    assert magic.startswith(command.magic + " ") or magic == command.magic, (magic, command.magic)
    assert _accepted(magic) is command
    if command.cell:
        assert parse_cell(body, _AnyName(), command.name) is not None


def _accepted(line: str) -> Command:
    """Split and parse the magic in ``line`` as a cell would; return the command it names."""
    found = re.search(r"(%%?dapr)\b(.*)$", line)
    assert found is not None, line
    tokens = split(found.group(2), _AnyName()).tokens or ["help"]
    command, argv = REGISTRY.find(tokens, found.group(1) == "%%dapr")
    command.parser().parse(argv)
    return command


def _notebook_magics() -> list[str]:
    """Return every line magic, and every cell magic's first line, in the tutorials' code cells."""
    lines = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"]).splitlines() if cell["cell_type"] == "code" else []
            lines += [s for i, s in enumerate(source) if re.search(r"(^|[\s=])%dapr\b", s) or i == 0 and "%%dapr" in s]
    return lines


@pytest.mark.parametrize("line", _notebook_magics())
def test_the_tutorials_magics_are_accepted(line: str) -> None:
    _accepted(line)


def test_usage_follows_the_parser_shape() -> None:
    def build(p: argparse.ArgumentParser) -> None:
        p.add_argument("one", metavar="ONE")
        p.add_argument("maybe", metavar="MAYBE", nargs="?")
        p.add_argument("many", metavar="K", nargs="+")
        either = p.add_mutually_exclusive_group()
        either.add_argument("--a", metavar="A", help="a")
        either.add_argument("--b", action="store_true", help="b")
        p.add_argument("--must", required=True, metavar="M", help="m")
        p.add_argument("--meta", metavar="k=v", nargs="+", action="extend", help="pairs")
        p.add_argument("--n", type=int, default=3, help="n")

    shape = Command("demo", "run", "a demo", build, lambda ctx, args: None, cell=True, body="JSON")
    assert usage(shape) == (
        "%%dapr demo run ONE [MAYBE] K [K ...] [--a A | --b] --must M [--meta k=v [k=v ...]] [--n N] [-o NAME]"
    )
    text = command_help(shape)
    assert "  body: JSON" in text and "--n N" in text and "n (default: 3)" in text and "-o, --out NAME" in text


@pytest.mark.parametrize("cell", ["%dapr", "%dapr help", "%dapr --help", "%dapr -h", "%dapr   # just help"])
def test_overview(offline: Cells, cell: str) -> None:
    text = str(offline.run(cell))
    assert text == str(overview())
    assert all(usage(c) in text for c in COMMANDS)
    assert "http_endpoint" in text  # the settings line lists every %config Dapr.* setting


@pytest.mark.parametrize("cell", ["%dapr help state", "%dapr state --help", "%dapr state -h", "%dapr state help"])
def test_group_help(offline: Cells, cell: str) -> None:
    text = str(offline.run(cell))
    assert text == group_help("state")
    assert "%%dapr state query STORE [--page-size N] [-o NAME]" in text and "examples:" in text
    assert "workflow" not in text


@pytest.mark.parametrize(
    "cell",
    ["%dapr help state set", "%dapr state set --help", "%dapr state set -h", "%dapr state set statestore k --help",
     "%%dapr state set --help\n{}"],
)  # fmt: skip
def test_command_help_shows_both_forms(offline: Cells, cell: str) -> None:
    text = str(offline.run(cell))
    forms = [c for c in COMMANDS if c.name == "state set"]
    assert text == "\n\n".join(command_help(c) for c in forms)
    assert "--first-write" in text and "%%dapr state set STORE [-o NAME]" in text


def test_help_for_the_commands_that_drifted(offline: Cells) -> None:
    schedule = str(offline.run("%dapr help job schedule"))
    assert "[--ttl T] [--overwrite]" in schedule and "--overwrite   replace" in schedule
    release = str(offline.run("%dapr lock release --help"))
    assert "--owner" in release and "--expiry" not in release
    assert "--expiry S" in str(offline.run("%dapr help lock acquire"))
    publish = str(offline.run("%%dapr publish --help\n{}"))
    assert "%%dapr publish PUBSUB TOPIC [--content-type T] [--meta k=v [k=v ...]] [--bulk] [-o NAME]" in publish
    assert "--page-size N" in str(offline.run("%dapr state query --help"))
    assert "(default: sandbox)" in str(offline.run("%dapr sandbox start --help"))


def test_lock_release_refuses_an_expiry(offline: Cells) -> None:
    message = offline.fail("%dapr lock release lockstore invoice-7 --expiry 30")
    assert message == (
        "%dapr lock release: unknown option '--expiry'; it takes --owner (see %dapr lock release --help)"
    )


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        ("%dapr stat get statestore k", "unknown command 'stat'; did you mean 'state'?"),
        ("%dapr state gte statestore k", "unknown verb 'gte'; did you mean 'get'?"),
        ("%dapr state set statestore k 1 --tll 5", "unknown option '--tll'; did you mean '--ttl'?"),
        ("%dapr workflow start flow --inptu 1", "unknown option '--inptu'; did you mean '--input'?"),
        ("%%dapr publish pubsub orders --bulkk\n[1]", "%%dapr publish: unknown option '--bulkk'; did you mean"),
        ("%dapr state set statestore k 1 -5", "unrecognized arguments: -5"),
        ("%dapr metadata --verbose", "unknown option '--verbose'; it takes no options"),
        ("%dapr invoke app -- --", "METHOD needs a value"),
        ("%dapr state get statestore k -o rows", "in a line magic write NAME = %dapr"),
        ("%dapr help stat", "no help for 'stat'; did you mean 'state'?"),
        ("%dapr help state gte", "no help for 'state gte'; did you mean 'get'?"),
        ("%dapr help publish bulk", "publish takes no verb"),
    ],
)
def test_mistakes_fail_the_cell_saying_what_to_do(offline: Cells, cell: str, hint: str) -> None:
    message = offline.fail(cell)
    assert hint in message, message
    assert len(message) < 160, message


def test_inspecting_the_magic_shows_the_overview(offline: Cells) -> None:
    for magic in ("%dapr", "%%dapr"):
        assert str(overview()) in offline.shell.object_inspect_text(magic)


def test_a_trailing_comment_is_not_an_argument(offline: Cells) -> None:
    assert str(offline.run("%dapr help state   # the state commands")) == group_help("state")
    assert "'state #1'" in offline.fail("%dapr help state '#1'")  # a quoted # is data


def _readme_rows() -> list[str]:
    section = README.read_text().split("### Magic reference", 1)[1].split("\n## ", 1)[0]
    return [m for row in section.splitlines() if row.startswith("| `%") for m in re.findall(r"`(%%?dapr [^`]+)`", row)]


@pytest.mark.parametrize("row", _readme_rows())
def test_readme_names_only_options_the_commands_take(row: str) -> None:
    cell = row.startswith("%%")
    group, *rest = row.split()[1:]
    verbs = rest[0].split("\\|") if rest and REGISTRY.verbs(group) != [""] else [""]
    options = _flags(row)
    for verb in verbs:
        command = REGISTRY.commands[(group, verb, cell)]
        assert options <= set(command.parser().options()), (row, options - set(command.parser().options()))
