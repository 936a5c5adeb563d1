"""``bindings.localstorage``: an output binding over a folder, with components-contrib's semantics.

Rules (``bindings/localstorage/localstorage.go``): operations ``create``, ``get``, ``list`` and
``delete``; the file is named by the ``fileName`` request metadata (``create`` without it picks a
UUID). ``create`` first unquotes data that is a Go string literal (HTTP callers send JSON, so
``"text"`` arrives quoted), then base64-decodes it if it *is* valid padded base64 - so ``"aGk="``
is stored as ``hi`` and even ``"test"`` is decoded; anything else is written byte for byte. File
names are resolved like ``securejoin``: ``..`` and symlinks are evaluated as if ``rootPath`` were
``/``, so no name reaches outside the root (``../x`` is ``<root>/x``). ``list`` answers a JSON
array of absolute paths (``null`` when empty), ``delete`` answers no data. Errors carry the
component's (Go-style) messages; the bindings block adds daprd's prefix.
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
import posixpath
import re
import stat
import uuid
from dataclasses import dataclass, field

from ..errors import ComponentError
from ..gojson import go_json
from ..resources import ComponentSpec
from . import BuildContext, Component

OPERATIONS = ("create", "get", "list", "delete")
"""The operations this binding supports, in the order daprd lists them."""

FILE_NAME_KEY = "fileName"
DISALLOWED_ROOTS = ("/proc", "/sys", "/boot", "/var/run/secrets")
MAX_SYMLINKS = 255
_HEX = re.compile(rb"[0-9A-Fa-f]+")
_OCTAL = re.compile(rb"[0-7]{3}")
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class BindingError(Exception):
    """An output binding failed; the message is the component's own."""


@dataclass(frozen=True)
class BindingResponse:
    """What an output binding answers; ``data is None`` means no response at all (HTTP 204)."""

    data: bytes | None
    metadata: dict[str, str] = field(default_factory=dict)


class LocalStorageBinding(Component):
    """Files under ``rootPath``: create, get, list and delete."""

    def __init__(self, spec: ComponentSpec, root: str) -> None:
        super().__init__(spec)
        self.root = root

    @classmethod
    def from_spec(cls, spec: ComponentSpec, ctx: BuildContext) -> LocalStorageBinding:
        """Validate ``rootPath`` as contrib does (relative to the working directory) and create it."""
        where = f"component {spec.name!r} ({spec.type}, {spec.source}) failed to start"
        try:
            root = validate_root(spec.get("rootPath"))
        except (ValueError, OSError) as exc:
            raise ComponentError(f"{where}: failed to parse metadata: {exc}") from exc
        try:
            os.makedirs(root, 0o777, exist_ok=True)
        except OSError as exc:
            raise ComponentError(f"{where}: unable to create directory specified by 'rootPath' {root}: {exc}") from exc
        return cls(spec, root)

    def capabilities(self) -> list[str]:
        """Report what daprd reports for an output binding."""
        return ["OUTPUT_BINDING"]

    def operations(self) -> tuple[str, ...]:
        """Return the supported operations."""
        return OPERATIONS

    def invoke(self, operation: str, data: bytes, metadata: dict[str, str]) -> BindingResponse:
        """Run one operation; raise BindingError with the component's message on failure."""
        name = metadata.get(FILE_NAME_KEY, "")
        if not name and operation == "create":
            name = str(uuid.uuid4())
        if operation == "create":
            return self._create(name, data)
        if operation == "get":
            return self._get(name)
        if operation == "delete":
            return self._delete(name)
        if operation == "list":
            return self._list(name)
        raise BindingError(f"unsupported operation {operation}")

    def _paths(self, name: str) -> tuple[str, str]:
        try:
            path = secure_join(self.root, name)
        except OSError as exc:
            raise BindingError(f"error getting absolute path for file {name}: {exc}") from exc
        return path, os.path.relpath(path, self.root)

    def _create(self, name: str, data: bytes) -> BindingResponse:
        path, rel = self._paths(name)
        content = decode_payload(data)
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, 0o777, exist_ok=True)
        except OSError as exc:
            raise BindingError(f"error creating directory {folder}: {go_error('mkdir', exc, folder)}") from exc
        try:
            with open(path, "wb") as handle:
                handle.write(content)
        except OSError as exc:
            raise BindingError(f"error creating file {path}: {go_error('open', exc, path)}") from exc
        return BindingResponse(go_json({"fileName": rel}))

    def _get(self, name: str) -> BindingResponse:
        path, _ = self._paths(name)
        try:
            with open(path, "rb") as handle:
                return BindingResponse(handle.read())
        except FileNotFoundError as exc:
            raise BindingError(f"file not found: {path}") from exc
        except IsADirectoryError as exc:
            raise BindingError(f"error reading file {path}: read {path}: is a directory") from exc
        except OSError as exc:
            raise BindingError(f"error opening path {path}: {go_error('open', exc, path)}") from exc

    def _delete(self, name: str) -> BindingResponse:
        path, _ = self._paths(name)
        try:
            go_remove(path)
        except OSError as exc:
            raise BindingError(f"error deleting file {path}: {go_error('remove', exc, path)}") from exc
        return BindingResponse(None)

    def _list(self, name: str) -> BindingResponse:
        path, _ = self._paths(name)
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise BindingError(f"error getting stats for path {path}: {go_error('stat', exc, path)}") from exc
        if not stat.S_ISDIR(mode):
            raise BindingError(f"unable to list files as the file specified is not a directory: {path}")
        return BindingResponse(go_json(walk_files(path) or None))


def validate_root(raw: str) -> str:
    """Return ``rootPath`` made absolute with symlinks resolved; raise ValueError as contrib does."""
    if not raw:
        raise ValueError("property rootPath must not be empty")
    root = os.path.normpath(raw if os.path.isabs(raw) else os.path.join(os.getcwd(), raw))
    existing = root
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError("property rootPath represents a file and not a directory")
    root = os.path.normpath(os.path.realpath(existing) + root[len(existing) :])
    for banned in DISALLOWED_ROOTS:
        if root == banned or root.startswith(banned + "/"):
            raise ValueError("property rootPath points to a disallowed location")
    return root


def secure_join(root: str, unsafe: str) -> str:
    """Join ``unsafe`` to ``root`` evaluating ``..`` and symlinks inside ``root``, as filepath-securejoin does."""
    current, remaining, links = "", unsafe, 0
    while remaining:
        part, _, remaining = remaining.partition("/")
        step = posixpath.normpath(posixpath.join("/", current.lstrip("/"), part))
        if step == "/":
            current = ""
            continue
        full = root + "/" + step.lstrip("/")
        try:
            is_link = stat.S_ISLNK(os.lstat(full).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            is_link = False
        if not is_link:
            current = step
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, f"SecureJoin {root}/{unsafe}: too many levels of symbolic links")
        target = os.readlink(full)
        remaining = f"{target}/{remaining}"
        if target.startswith("/"):
            current = ""
    return posixpath.normpath(root + posixpath.join("/", current.lstrip("/")))


def decode_payload(data: bytes) -> bytes:
    """Apply contrib's create-time decoding: Go-unquote if quoted, then base64-decode if valid."""
    unquoted = go_unquote(data)
    if unquoted is not None:
        data = unquoted
    candidate = data.replace(b"\r", b"").replace(b"\n", b"")
    if _BASE64.fullmatch(candidate):
        try:
            return base64.b64decode(candidate)
        except binascii.Error:
            return data
    return data


_SIMPLE_ESCAPES = {
    ord("a"): b"\a", ord("b"): b"\b", ord("f"): b"\f", ord("n"): b"\n",
    ord("r"): b"\r", ord("t"): b"\t", ord("v"): b"\v", ord("\\"): b"\\",
}  # fmt: skip


def go_unquote(data: bytes) -> bytes | None:
    """Return Go's ``strconv.Unquote`` of ``data``, or None when it is not a Go string literal."""
    if len(data) < 2 or data[:1] != data[-1:] or data[:1] not in (b'"', b"'", b"`"):
        return None
    quote, body = data[:1], data[1:-1]
    if quote == b"`":
        return None if b"`" in body else body.replace(b"\r", b"")
    if b"\n" in body:
        return None
    out = _unescape(body, quote)
    if out is None or (quote == b"'" and len(out.decode("utf-8", "replace")) != 1):
        return None
    return out


def _unescape(body: bytes, quote: bytes) -> bytes | None:
    out, i = bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == quote[0]:
            return None
        if ch != ord("\\"):
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(body):
            return None
        esc = body[i + 1]
        if esc in _SIMPLE_ESCAPES or esc == quote[0]:
            out += _SIMPLE_ESCAPES.get(esc, quote)
            i += 2
            continue
        width = {ord("x"): 2, ord("u"): 4, ord("U"): 8}.get(esc)
        try:
            digits = body[i + 2 : i + 2 + (width or 0)]
            if width is not None and len(digits) == width and _HEX.fullmatch(digits):
                value = int(digits, 16)
                out += bytes([value]) if width == 2 else chr(value).encode("utf-8")
                i += 2 + width
            elif _OCTAL.fullmatch(body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
            else:
                return None
        except (ValueError, UnicodeError, OverflowError):
            return None
    return bytes(out)


def go_error(op: str, exc: OSError, path: str) -> str:
    """Format an OSError as Go's ``*PathError``: ``op path: no such file or directory``."""
    text = exc.strerror or str(exc)
    return f"{op} {exc.filename or path}: {text[:1].lower()}{text[1:]}"


def go_remove(path: str) -> None:
    """Remove a file or an empty directory, reporting the error Go's ``os.Remove`` would."""
    try:
        os.unlink(path)
        return
    except OSError as first:
        try:
            os.rmdir(path)
            return
        except OSError as second:
            raise (second if second.errno != errno.ENOTDIR else first) from None


def walk_files(top: str) -> list[str]:
    """Return every non-directory below ``top`` in lexical order, as Go's ``filepath.Walk`` visits them."""
    found: list[str] = []
    try:
        names = sorted(os.listdir(top))
    except OSError:
        return found
    for name in names:
        path = os.path.join(top, name)
        try:
            is_dir = stat.S_ISDIR(os.lstat(path).st_mode)
        except OSError:
            continue
        if is_dir:
            found.extend(walk_files(path))
        else:
            found.append(path)
    return found
