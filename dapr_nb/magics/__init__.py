"""The ``%dapr`` line magic and ``%%dapr`` cell magic: ``%load_ext dapr_nb``.

Rule: this module only turns a magic call into a :class:`~.registry.Context` and hands it to the
command table; the command modules (one per group) do the work with the sync client. Settings are
traitlets on :class:`Dapr`, so ``%config Dapr.timeout = 5`` works as for any IPython configurable.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from traitlets import Bool, Float, Int, Unicode

from . import configuration, connection, help, invoke, jobs, lock, pubsub, secrets, state, workflow  # noqa: F401
from .parsing import split
from .registry import REGISTRY, Context
from .session import Options, Session

__all__ = ["Dapr", "load_ipython_extension", "unload_ipython_extension"]


@magics_class
class Dapr(Magics):
    """``%dapr`` / ``%%dapr``: Dapr building blocks from notebook cells (``%dapr help`` lists the commands)."""

    endpoint = Unicode("", help="gRPC endpoint of the sidecar; empty follows DAPR_GRPC_ENDPOINT etc.").tag(config=True)
    http_endpoint = Unicode("", help="HTTP endpoint (service invocation); empty follows DAPR_*.").tag(config=True)
    token_env = Unicode("", help="environment variable holding the API token; empty uses DAPR_API_TOKEN.").tag(
        config=True
    )
    timeout = Float(10.0, help="default deadline of a call in seconds (0: none).").tag(config=True)
    wait_timeout = Float(60.0, help="default timeout of %dapr workflow wait, in seconds.").tag(config=True)
    max_rows = Int(50, help="rows shown by live views and reprs.").tag(config=True)
    reveal = Bool(False, help="show secret values without --reveal.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self.session = Session()

    def options(self) -> Options:
        """Return the current settings."""
        return Options(
            endpoint=self.endpoint,
            http_endpoint=self.http_endpoint,
            token_env=self.token_env,
            timeout=self.timeout,
            wait_timeout=self.wait_timeout,
            max_rows=self.max_rows,
            reveal=self.reveal,
        )

    def _run(self, line: str, cell: str | None) -> Any:
        namespace = self.shell.user_ns if self.shell is not None else {}
        parsed = split(line, namespace)
        if not parsed.tokens:
            if cell is not None:
                raise UsageError("%%dapr needs a command on its first line, e.g. %%dapr state set STORE")
            parsed.tokens = ["help"]
        ctx = Context(self.session, self.options(), parsed, namespace, cell)
        result, args = REGISTRY.dispatch(ctx, cell is not None)
        out = getattr(args, "out", None)
        if out:
            if not out.isidentifier():
                raise UsageError(f"-o takes a variable name, not {out!r}")
            namespace[out] = result
        return result

    @line_magic("dapr")  # type: ignore[arg-type]
    @no_var_expand
    def dapr_line(self, line: str) -> Any:
        """Run a ``%dapr`` command and return its result (``%dapr help`` lists them)."""
        return self._run(line, None)

    @cell_magic("dapr")  # type: ignore[arg-type]
    @no_var_expand
    def dapr_cell(self, line: str, cell: str) -> Any:
        """Run a ``%%dapr`` command with the cell body as its data; ``-o NAME`` stores the result."""
        return self._run(line, cell)

    def close(self) -> None:
        """Close live views and the client, and stop the kernel's sandbox."""
        self.session.close()


def _help_on_inspect(magic: Any) -> None:
    """Make ``%dapr?`` and ``%%dapr?`` show the overview (IPython's inspector calls an object's ``getdoc``)."""
    from .help import overview

    first = (magic.__doc__ or "").strip().splitlines()[0]
    magic.getdoc = lambda: f"{first}\n\n{overview()}"


_help_on_inspect(Dapr.dapr_line)
_help_on_inspect(Dapr.dapr_cell)
_loaded: dict[int, Dapr] = {}


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%dapr`` / ``%%dapr`` and the ``Dapr`` configurable on a shell."""
    if id(ipython) in _loaded:
        return
    magics = Dapr(shell=ipython, config=ipython.config)
    ipython.register_magics(magics)
    ipython.configurables.append(magics)
    _loaded[id(ipython)] = magics


def unload_ipython_extension(ipython: Any) -> None:
    """Close what the magics opened and unregister them."""
    magics = _loaded.pop(id(ipython), None)
    if magics is None:
        return
    magics.close()
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("dapr", None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
