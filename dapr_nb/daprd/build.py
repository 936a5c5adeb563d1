"""Build daprd, placement and scheduler from the ``github.com/dapr/dapr`` Go module, once per version.

Rules: the source comes from the Go module proxy (``go mod download``) and is built with ``go build``
and upstream's own ``go.mod``; nothing of Dapr's code lives in this repository. A component
selection smaller than ``allcomponents`` is made the way upstream's own files gate themselves:
``cmd/daprd/components`` holds one file per component behind ``//go:build allcomponents`` or
``stablecomponents``, and ``go build -overlay`` swaps in copies of the chosen files without that
line (plus an empty ``zz_notag.go``, whose ``init`` would panic). Go refuses overlays of files
inside the module cache, so the module is copied once into the cache directory first.

Binaries live in ``<cache>/<version>/bin`` (cache: ``DAPR_NB_DAPRD_CACHE`` or
``~/.cache/dapr-nb/daprd``) and are reused while ``build.json`` there names the same selection.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("dapr_nb.daprd")

MODULE = "github.com/dapr/dapr"

DAPR_VERSION = "1.18.2"
"""The runtime built by default: the newest github.com/dapr/dapr whose whole dependency graph the proxy serves here.

The pinned SDK is ``dapr==1.19.*``, but the Go module proxy this project reaches answers 403 for
``dapr@v1.19.0`` (and its release candidates), and v1.18.3 needs ``durabletask-go@v0.12.4``, also 403.
Set ``DAPR_NB_DAPRD_VERSION`` to build another version once it is served.
"""

PROGRAMS = ("daprd", "placement", "scheduler")

SANDBOX_COMPONENTS = (
    "state_sqlite",
    "state_in-memory",
    "pubsub_in-memory",
    "secretstores_local_file",
    "secretstores_local_env",
    "bindings_localstorage",
    "bindings_cron",
    "conversation_echo",
    "crypto_localstorage",
    "nameresolution_mdns",
    "state_redis",
    "pubsub_redis",
    "lock_redis",
    "configuration_redis",
)
"""Files of ``cmd/daprd/components`` built into the default daprd: what the sandbox embeds, Redis, and mDNS."""

SELECTIONS = ("sandbox", "stablecomponents", "allcomponents")

RECIPE = 2
"""Bumped whenever the build flags change, so binaries built the old way are rebuilt (``build.json`` records it)."""


class BuildError(RuntimeError):
    """daprd could not be built; the message says which step failed and where its log is."""


@dataclass(frozen=True)
class Binaries:
    """Where the three programs of one version and selection are (or will be) cached."""

    version: str
    root: Path
    selection: str = "sandbox"

    @property
    def bin_dir(self) -> Path:
        """Return the folder holding daprd, placement and scheduler."""
        return self.root / "bin"

    def path(self, program: str) -> Path:
        """Return the path of one program (``daprd``, ``placement`` or ``scheduler``)."""
        return self.bin_dir / program

    def present(self) -> bool:
        """Return True when all three programs exist and were built with this selection."""
        if not all(self.path(p).is_file() for p in PROGRAMS):
            return False
        manifest = read_manifest(self)
        return manifest is not None and (manifest.get("selection"), manifest.get("recipe")) == (self.selection, RECIPE)


@dataclass(frozen=True)
class BuildReport:
    """What ``build`` did: reused or built, how long it took, and the binary sizes in bytes."""

    binaries: Binaries
    reused: bool
    seconds: float
    sizes: dict[str, int] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)


def cache_root() -> Path:
    """Return the cache folder for all versions: ``DAPR_NB_DAPRD_CACHE`` or ``~/.cache/dapr-nb/daprd``."""
    raw = os.environ.get("DAPR_NB_DAPRD_CACHE", "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "dapr-nb" / "daprd"


def default_version() -> str:
    """Return ``DAPR_NB_DAPRD_VERSION`` (without a leading ``v``) or :data:`DAPR_VERSION`."""
    return os.environ.get("DAPR_NB_DAPRD_VERSION", "").strip().lstrip("v") or DAPR_VERSION


def binaries(version: str | None = None, selection: str = "sandbox", cache: Path | None = None) -> Binaries:
    """Return where ``build`` puts (or put) the programs of ``version`` and ``selection``."""
    if selection not in SELECTIONS:
        raise BuildError(f"unknown component selection {selection!r}: choose one of {', '.join(SELECTIONS)}")
    version = (version or default_version()).lstrip("v")
    folder = version if selection == "sandbox" else f"{version}-{selection}"
    return Binaries(version, (cache or cache_root()) / folder, selection)


def read_manifest(bins: Binaries) -> dict[str, object] | None:
    """Return the ``build.json`` written by the last successful build, or None."""
    try:
        data = json.loads((bins.root / "build.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def build(bins: Binaries | None = None, *, force: bool = False) -> BuildReport:
    """Build (or reuse) daprd, placement and scheduler; raise BuildError with the failing command's output."""
    bins = bins or binaries()
    started = time.monotonic()
    if bins.present() and not force:
        return BuildReport(bins, True, time.monotonic() - started, _sizes(bins))
    go = shutil.which("go")
    if go is None:
        raise BuildError("go is not on PATH: install Go 1.26 or newer (https://go.dev/dl/), then run this again")
    bins.root.mkdir(parents=True, exist_ok=True)
    logfile = bins.root / "build.log"
    logfile.write_text("", encoding="utf-8")
    steps: dict[str, float] = {}
    clock = time.monotonic()
    module_dir, commit = _download(go, bins.version, logfile)
    src = _source_tree(module_dir, bins.root / "src")
    steps["download"], clock = round(time.monotonic() - clock, 1), time.monotonic()
    daprd_flags = _selection_flags(bins, src)
    ldflags = _ldflags(bins.version, commit)
    for program in PROGRAMS:
        flags = [*daprd_flags, ldflags] if program == "daprd" else [ldflags]
        _go_build(go, src, program, bins, flags, logfile)
        steps[program], clock = round(time.monotonic() - clock, 1), time.monotonic()
    report = BuildReport(bins, False, round(time.monotonic() - started, 1), _sizes(bins), steps)
    _write_manifest(bins, report)
    return report


def _run(args: list[str], cwd: Path, logfile: Path, env: dict[str, str] | None = None) -> str:
    """Run one go command with its stderr going to the build log; raise BuildError with the log's tail on failure."""
    log.info("daprd build: %s", " ".join(args))
    with logfile.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(args)}\n")
        out.flush()
        proc = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=out, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(logfile.read_text(encoding="utf-8").strip().splitlines()[-15:])
        raise BuildError(f"`{' '.join(args[:3])} …` failed (exit {proc.returncode}); log: {logfile}\n{tail}")
    return proc.stdout


def _download(go: str, version: str, logfile: Path) -> tuple[Path, str]:
    """Download ``github.com/dapr/dapr@v<version>`` into the module cache; return its folder and git commit."""
    out = _run([go, "mod", "download", "-json", f"{MODULE}@v{version}"], logfile.parent, logfile)
    info = json.loads(out)
    if info.get("Error"):
        raise BuildError(f"go mod download {MODULE}@v{version}: {info['Error']}")
    return Path(info["Dir"]), str((info.get("Origin") or {}).get("Hash", ""))


def _source_tree(module_dir: Path, dest: Path) -> Path:
    """Copy the read-only module folder to ``dest`` once (Go accepts no overlay inside the module cache)."""
    if (dest / "go.mod").is_file():
        return dest
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(module_dir, partial)
    for folder, _dirs, files in os.walk(partial):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    partial.rename(dest)
    return dest


def _selection_flags(bins: Binaries, src: Path) -> list[str]:
    """Return the go build flags that choose daprd's components: upstream's tags, or an overlay of our files."""
    if bins.selection != "sandbox":
        return [f"-tags={bins.selection}"]
    components = src / "cmd" / "daprd" / "components"
    folder = bins.root / "overlay"
    folder.mkdir(exist_ok=True)
    replace: dict[str, str] = {}
    (folder / "zz_notag.go").write_text("package components\n", encoding="utf-8")
    replace[str(components / "zz_notag.go")] = str(folder / "zz_notag.go")
    for name in SANDBOX_COMPONENTS:
        original = components / f"{name}.go"
        if not original.is_file():
            raise BuildError(
                f"{MODULE}@v{bins.version} has no cmd/daprd/components/{name}.go; update SANDBOX_COMPONENTS"
            )
        lines = original.read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / original.name).write_text("".join(x for x in lines if not x.startswith("//go:build")), "utf-8")
        replace[str(original)] = str(folder / original.name)
    overlay = bins.root / "overlay.json"
    overlay.write_text(json.dumps({"Replace": replace}, indent=1), encoding="utf-8")
    return [f"-overlay={overlay}"]


def _ldflags(version: str, commit: str) -> str:
    """Return the -ldflags dapr's Makefile sets for a release build (version, commit; stripped)."""
    pkg, logger = f"{MODULE}/pkg/buildinfo", "github.com/dapr/kit/logger"
    values = f"-X {pkg}.version={version} -X {pkg}.gitcommit={commit} -X {pkg}.gitversion=v{version}"
    return f"-ldflags=-s -w {values} -X {logger}.DaprVersion={version}"


def _go_build(go: str, src: Path, program: str, bins: Binaries, flags: list[str], logfile: Path) -> None:
    """``go build`` one of cmd/daprd, cmd/placement, cmd/scheduler; rename into place only when it succeeded."""
    bins.bin_dir.mkdir(exist_ok=True)
    target = bins.path(program)
    partial = target.with_name(program + ".partial")
    env = {**os.environ, "CGO_ENABLED": "0"}
    _run(
        [go, "build", "-trimpath", "-buildvcs=false", *flags, "-o", str(partial), f"./cmd/{program}"], src, logfile, env
    )
    partial.rename(target)


def _sizes(bins: Binaries) -> dict[str, int]:
    return {p: bins.path(p).stat().st_size for p in PROGRAMS if bins.path(p).is_file()}


def _write_manifest(bins: Binaries, report: BuildReport) -> None:
    data = {
        "version": bins.version,
        "selection": bins.selection,
        "recipe": RECIPE,
        "components": list(SANDBOX_COMPONENTS) if bins.selection == "sandbox" else [bins.selection],
        "seconds": report.seconds,
        "steps": report.steps,
        "sizes": report.sizes,
        "go": subprocess.run(["go", "version"], capture_output=True, text=True, check=False).stdout.strip(),
    }
    (bins.root / "build.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
