"""daprd's state query language (``QueryStateAlpha1``) over JSON values: parse, filter, sort, page.

Rules, following components-contrib ``state/query`` and the stores that implement it:

* ``{"filter": …, "sort": [{key, order}], "page": {limit, token}}``; every part is optional and unknown
  fields are ignored. A filter unit is a one-entry object: ``EQ``/``NEQ``/``GT``/``GTE``/``LT``/``LTE``
  ``{path: value}``, ``IN`` ``{path: [values]}``, ``AND``/``OR`` ``[at least two units]``.
* Paths are dot-separated into the stored JSON value (``person.org``); a digit part indexes an array.
* ``EQ`` compares numbers numerically and everything else by JSON type and value; ``EQ null`` also matches
  a missing field; ``NEQ`` is its negation (so it matches a missing field, as MongoDB does). ``GT`` … ``LTE``
  take numbers only (a string is an error, as in every contrib store) and match numeric fields only.
* Sort keys are paths, ``ASC`` (default) or ``DESC`` (any case); across types the order is
  missing/null < numbers < strings < objects < arrays < booleans; the key breaks ties, so pages are stable.
* Paging is by offset, as in the Postgres, Mongo and Redis stores: with ``limit`` > 0 a non-empty page
  carries ``token`` = the offset of the next page; an empty page carries none, which ends a client's loop.

Messages of parse errors start with ``failed to parse JSON query body:``, as daprd's do. The body
decodes as Go decodes it (:mod:`..gojson`: 10,000 levels deep, ``1e400`` refused); a filter nested
deeper than ``MAX_FILTER_DEPTH`` units is refused as a failed query (the store's limit, like a SQL
store's stack-depth limit).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import gojson

COMPARISONS = ("EQ", "NEQ", "GT", "GTE", "LT", "LTE")
_MISSING = object()
PARSE_PREFIX = "failed to parse JSON query body: "
MAX_FILTER_DEPTH = 100
"""AND/OR levels a filter may nest."""
INT64 = (-(2**63), 2**63 - 1)


class _Literal(float):
    """A JSON number that remembers how it was written (for Go's ``cannot unmarshal number …`` message)."""

    text: str

    def __new__(cls, text: str) -> _Literal:
        number = super().__new__(cls, text)
        number.text = text
        return number


class QueryError(Exception):
    """A query daprd would reject; the message is the detail after ``query failed:``."""


@dataclass(frozen=True)
class Compare:
    """``{op: {path: value}}`` with op one of COMPARISONS."""

    op: str
    path: str
    value: Any


@dataclass(frozen=True)
class In:
    """``{"IN": {path: [values]}}``."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Junction:
    """``{"AND" | "OR": [filters]}``."""

    op: str
    filters: tuple[Filter, ...]


Filter = Compare | In | Junction


@dataclass(frozen=True)
class Sorting:
    """One sort key: a path and ``DESC`` or not."""

    path: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    """A parsed query."""

    filter: Filter | None = None
    sort: tuple[Sorting, ...] = ()
    limit: int = 0
    token: str = ""


@dataclass(frozen=True)
class Document:
    """A stored item as the query sees it: ``value`` is the decoded JSON, or None when it is not JSON."""

    key: str
    data: bytes
    etag: str
    value: Any = None
    is_json: bool = False


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return "number"


def _unmarshal_error(value: Any, target: str) -> QueryError:
    return QueryError(f"{PARSE_PREFIX}json: cannot unmarshal {_kind(value)} into Go {target}")


def parse_query(text: str) -> Query:
    """Parse the JSON query body; raise QueryError with daprd's parse-failure wording."""
    try:
        doc = gojson.loads(text or "", parse_float=_Literal)
    except ValueError as exc:
        detail = "unexpected end of JSON input" if not (text or "").strip() else str(exc)
        raise QueryError(PARSE_PREFIX + detail) from None
    if doc is None:
        return Query()
    if not isinstance(doc, dict):
        raise _unmarshal_error(doc, "value of type query.Query")
    raw_filter = doc.get("filter")
    if raw_filter is not None and not isinstance(raw_filter, dict):
        raise _unmarshal_error(raw_filter, "struct field QueryFields.filter of type map[string]interface {}")
    try:
        parsed = parse_filter(raw_filter) if raw_filter else None
    except QueryError as exc:
        raise QueryError(PARSE_PREFIX + str(exc)) from None
    limit, token = _parse_page(doc.get("page"))
    return Query(parsed, _parse_sort(doc.get("sort")), limit, token)


def _parse_sort(raw: Any) -> tuple[Sorting, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _unmarshal_error(raw, "struct field QueryFields.sort of type []query.Sorting")
    sorting = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise _unmarshal_error(entry, "struct field QueryFields.sort of type query.Sorting")
        key, order = entry.get("key", ""), entry.get("order", "")
        for value, name in ((key, "key"), (order, "order")):
            if not isinstance(value, str):
                raise _unmarshal_error(value, f"struct field Sorting.sort.{name} of type string")
        if order.upper() not in ("", "ASC", "DESC"):
            raise QueryError(f'invalid sort order "{order}" for key "{key}": use ASC or DESC')
        sorting.append(Sorting(key, order.upper() == "DESC"))
    return tuple(sorting)


def _parse_page(raw: Any) -> tuple[int, str]:
    if raw is None:
        return 0, ""
    if not isinstance(raw, dict):
        raise _unmarshal_error(raw, "struct field QueryFields.page of type query.Pagination")
    limit, token = raw.get("limit", 0), raw.get("token", "")
    if limit is None:
        limit = 0
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise _unmarshal_error(limit, "struct field Pagination.page.limit of type int")
    if not (isinstance(limit, int) and INT64[0] <= limit <= INT64[1]):
        literal = getattr(limit, "text", str(limit))
        raise QueryError(
            f"{PARSE_PREFIX}json: cannot unmarshal number {literal} into Go struct field "
            "Pagination.page.limit of type int"
        )
    if token is None:
        token = ""
    if not isinstance(token, str):
        raise _unmarshal_error(token, "struct field Pagination.page.token of type string")
    return int(limit), token


def parse_filter(unit: Any, depth: int = 1) -> Filter:
    """Parse one filter unit (contrib's ``query.ParseFilter``); refuse nesting beyond ``MAX_FILTER_DEPTH``."""
    if depth > MAX_FILTER_DEPTH:
        raise QueryError(f"filter nests more than {MAX_FILTER_DEPTH} levels of AND/OR; flatten it")
    if not isinstance(unit, dict):
        raise QueryError("filter unit must be a map")
    if len(unit) != 1:
        raise QueryError("filter unit must have a single element")
    ((op, body),) = unit.items()
    if op in ("AND", "OR"):
        if not isinstance(body, list):
            raise QueryError(f"{op} filter must be an array")
        if len(body) < 2:
            raise QueryError(f"{op} filter must contain at least two entries")
        return Junction(op, tuple(parse_filter(entry, depth + 1) for entry in body))
    if op not in (*COMPARISONS, "IN"):
        raise QueryError(f'unsupported filter "{op}"')
    if not isinstance(body, dict):
        raise QueryError(f"{op} filter must be a map")
    if len(body) != 1:
        raise QueryError(f"{op} filter must contain a single key/value pair")
    ((path, value),) = body.items()
    if op == "IN":
        if not isinstance(value, list):
            raise QueryError("IN filter value must be an array")
        return In(path, tuple(value))
    return Compare(op, path, value)


def check_filter(node: Filter | None) -> None:
    """Reject what the stores reject when they build the native query (strings in GT…, an empty IN)."""
    if isinstance(node, Junction):
        for child in node.filters:
            check_filter(child)
    elif isinstance(node, In) and not node.values:
        raise QueryError(f'empty IN operator for key "{node.path}"')
    elif isinstance(node, Compare) and node.op not in ("EQ", "NEQ") and isinstance(node.value, str):
        raise QueryError(f"unsupported type of value {node.value}; string type not permitted")


def lookup(value: Any, path: str) -> Any:
    """Return the value at a dot path, or the module's missing marker."""
    current = value
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_equal(left: Any, right: Any) -> bool:
    """Compare two decoded JSON values: numbers numerically, everything else by type and value."""
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        return False
    if isinstance(left, (dict, list)):  # Go's canonical encoding compares numbers as float64, at any depth
        return gojson.dumps(left) == gojson.dumps(right)
    return bool(left == right)


_ORDERING: dict[str, Callable[[float, float], bool]] = {
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
}


def matches(node: Filter | None, doc: Document) -> bool:
    """Return whether a document passes the filter (no filter passes everything)."""
    if node is None:
        return True
    if isinstance(node, Junction):
        results = (matches(child, doc) for child in node.filters)
        return all(results) if node.op == "AND" else any(results)
    field: Any = lookup(doc.value, node.path) if doc.is_json else _MISSING
    if isinstance(node, In):
        return any(_equals(field, candidate) for candidate in node.values)
    if node.op == "EQ":
        return _equals(field, node.value)
    if node.op == "NEQ":
        return not _equals(field, node.value)
    if not (_is_number(field) and _is_number(node.value)):
        return False
    return _ORDERING[node.op](float(field), float(node.value))


def _equals(field: Any, wanted: Any) -> bool:
    if wanted is None:
        return field is None or field is _MISSING
    return field is not _MISSING and json_equal(field, wanted)


_RANK = {"null": 0, "number": 1, "string": 2, "object": 3, "array": 4, "bool": 5}


def _compare_values(left: Any, right: Any) -> int:
    lrank = -1 if left is _MISSING else _RANK[_kind(left)]
    rrank = -1 if right is _MISSING else _RANK[_kind(right)]
    if lrank != rrank:
        return -1 if lrank < rrank else 1
    if left is _MISSING or left is None:
        return 0
    if isinstance(left, (dict, list)):
        left, right = gojson.dumps(left), gojson.dumps(right)
    return -1 if left < right else (1 if left > right else 0)


def _sorted(docs: list[Document], sorting: Sequence[Sorting]) -> list[Document]:
    def compare(a: Document, b: Document) -> int:
        for spec in sorting:
            left: Any = lookup(a.value, spec.path) if a.is_json else _MISSING
            right: Any = lookup(b.value, spec.path) if b.is_json else _MISSING
            result = _compare_values(left, right)
            if result:
                return -result if spec.descending else result
        return -1 if a.key < b.key else (1 if a.key > b.key else 0)

    return sorted(docs, key=functools.cmp_to_key(compare))


def run_query(query: Query, docs: Sequence[Document]) -> tuple[list[Document], str]:
    """Filter, sort and page; return the page and the next token (empty when the page is empty)."""
    check_filter(query.filter)
    offset = 0
    if query.token:
        try:
            offset = int(query.token, 10)
        except ValueError:
            raise QueryError(f'strconv.ParseInt: parsing "{query.token}": invalid syntax') from None
        if offset < 0:
            raise QueryError(f"invalid page token {query.token!r}")
    selected = _sorted([doc for doc in docs if matches(query.filter, doc)], query.sort)
    page = selected[offset : offset + query.limit] if query.limit > 0 else selected[offset:]
    token = str(offset + len(page)) if query.limit > 0 and page else ""
    return page, token


def decode_document(key: str, data: bytes, etag: str) -> Document:
    """Build a Document, decoding the bytes as JSON when they are JSON (whichever API saved them)."""
    try:
        value = gojson.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Document(key, data, etag)
    return Document(key, data, etag, value, True)
