"""Small display helpers for magics: one-line notes, DataFrame checks.

Rule: this is the only place in ``magics`` that writes to the notebook (through IPython.display).
"""

from __future__ import annotations

import sys
from typing import Any


def note(text: str) -> None:
    """Show a one-line note under the cell."""
    from IPython.display import display

    display({"text/plain": text}, raw=True)  # type: ignore[no-untyped-call]


def is_frame(value: Any) -> bool:
    """Return whether ``value`` is a pandas DataFrame (without importing pandas)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def frame_records(value: Any) -> list[Any]:
    """Return a DataFrame's rows as JSON-ready dicts (NaN → None, timestamps ISO 8601)."""
    import json

    return list(json.loads(value.to_json(orient="records", date_format="iso", force_ascii=False)))
