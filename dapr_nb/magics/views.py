"""Objects ``%dapr`` returns when a DataFrame is not the right answer: notes, help text, masked secrets.

Rule: every repr here is safe to show — secret values appear only in a :class:`Secrets` made with
``revealed=True``; everything that goes into HTML is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from typing import Any

MASK = "••••••"


class Text(str):
    """A string that displays as itself (help and notes), not as a quoted repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


class Secrets(Mapping[str, dict[str, str]]):
    """Secrets by name (each a dict of named values); shown masked unless made with ``revealed=True``.

    Indexing gives the real values (``s["db-password"]``) so code can use a secret without displaying it.
    """

    def __init__(self, store: str, secrets: Mapping[str, Mapping[str, str]], *, revealed: bool = False) -> None:
        self.store = store
        self.revealed = revealed
        self._secrets = {name: dict(values) for name, values in secrets.items()}

    def __getitem__(self, name: str) -> dict[str, str]:
        return dict(self._secrets[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._secrets)

    def __len__(self) -> int:
        return len(self._secrets)

    def rows(self) -> list[tuple[str, str, str]]:
        """Return ``(secret, key, value)`` rows, values masked unless revealed."""
        return [
            (name, key, value if self.revealed else MASK)
            for name, values in sorted(self._secrets.items())
            for key, value in sorted(values.items())
        ]

    def to_frame(self) -> Any:
        """Return a DataFrame ``secret, key, value`` (values masked unless revealed)."""
        import pandas

        return pandas.DataFrame(self.rows(), columns=["secret", "key", "value"])

    def __repr__(self) -> str:
        lines = [f"{name}/{key}: {value}" for name, key, value in self.rows()]
        hint = "" if self.revealed else " (masked; add --reveal to show)"
        return "\n".join([f"Secrets in {self.store!r}{hint}", *lines])

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
            for n, k, v in self.rows()
        )
        hint = "" if self.revealed else " <small>(masked; add <code>--reveal</code> to show)</small>"
        head = "<tr><th>secret</th><th>key</th><th>value</th></tr>"
        return f"<p>Secrets in <b>{html.escape(self.store)}</b>{hint}</p><table>{head}{body}</table>"

    def __reduce__(self) -> Any:
        raise TypeError("Secrets are not picklable")
