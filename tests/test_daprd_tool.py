"""The daprd build-and-start tool without Go: cache layout, reuse, the overlay selection, component YAMLs, CLI.

Nothing here builds or runs daprd (tests/test_daprd_smoke.py does, when it is built); these run everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dapr_nb.cli import main
from dapr_nb.daprd import DAPR_VERSION, BuildError, Daprd, DaprdStartError, binaries, build
from dapr_nb.daprd.build import PROGRAMS, RECIPE, SANDBOX_COMPONENTS, Binaries, _selection_flags
from dapr_nb.daprd.resources import default_components, write_components, write_config
from dapr_nb.sandbox.resources import load_resources


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point DAPR_NB_DAPRD_CACHE at an empty folder and clear the version override."""
    monkeypatch.setenv("DAPR_NB_DAPRD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DAPR_NB_DAPRD_VERSION", raising=False)
    return tmp_path / "cache"


def fake_build(bins: Binaries, selection: str | None = None, recipe: int = RECIPE) -> None:
    """Put three empty programs and a manifest where ``build`` would."""
    bins.bin_dir.mkdir(parents=True)
    for program in PROGRAMS:
        bins.path(program).write_bytes(b"\x7fELF")
    manifest = {"version": bins.version, "selection": selection or bins.selection, "recipe": recipe}
    (bins.root / "build.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_cache_is_keyed_by_version_and_selection(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert binaries().root == cache / DAPR_VERSION
    assert binaries("v1.17.0", "allcomponents").root == cache / "1.17.0-allcomponents"
    monkeypatch.setenv("DAPR_NB_DAPRD_VERSION", "v1.19.0")
    assert binaries().path("daprd") == cache / "1.19.0" / "bin" / "daprd"
    with pytest.raises(BuildError, match="unknown component selection 'most'"):
        binaries(selection="most")


def test_build_reuses_cached_programs_without_go(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bins = binaries()
    fake_build(bins)
    monkeypatch.setenv("PATH", "")
    report = build(bins)
    assert report.reused and report.sizes == dict.fromkeys(PROGRAMS, 4)


def test_other_selection_or_recipe_in_the_manifest_means_not_built(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bins = binaries()
    fake_build(bins, selection="allcomponents")
    assert not bins.present()
    stale = binaries("1.0.0")
    fake_build(stale, recipe=RECIPE - 1)
    assert not stale.present()
    monkeypatch.setenv("PATH", "")
    with pytest.raises(BuildError, match="go is not on PATH: install Go"):
        build(bins)


def test_overlay_drops_the_build_line_of_each_chosen_file(tmp_path: Path) -> None:
    components = tmp_path / "src" / "cmd" / "daprd" / "components"
    components.mkdir(parents=True)
    for name in (*SANDBOX_COMPONENTS, "zz_notag", "state_mongodb"):
        (components / f"{name}.go").write_text(f"//go:build allcomponents\n\npackage components // {name}\n")
    bins = Binaries("1.0.0", tmp_path / "cache")
    bins.root.mkdir()
    (flag,) = _selection_flags(bins, tmp_path / "src")
    replace = json.loads(Path(flag.removeprefix("-overlay=")).read_text())["Replace"]
    assert sorted(Path(k).stem for k in replace) == sorted([*SANDBOX_COMPONENTS, "zz_notag"])
    sqlite = Path(replace[str(components / "state_sqlite.go")]).read_text()
    assert sqlite == "\npackage components // state_sqlite\n"
    assert Path(replace[str(components / "zz_notag.go")]).read_text() == "package components\n"
    (components / "lock_redis.go").unlink()
    with pytest.raises(BuildError, match="no cmd/daprd/components/lock_redis.go"):
        _selection_flags(bins, tmp_path / "src")


def test_tags_select_upstream_sets(tmp_path: Path) -> None:
    assert _selection_flags(Binaries("1.0.0", tmp_path, "stablecomponents"), tmp_path) == ["-tags=stablecomponents"]


def test_components_are_the_sandbox_defaults_with_redis_for_sandbox_only_types(tmp_path: Path) -> None:
    with_redis = {s.name: s for s in default_components(tmp_path / "a", "127.0.0.1:6390")}
    assert with_redis["lockstore"].type == "lock.redis"
    assert with_redis["configstore"].get("redisHost") == "127.0.0.1:6390"
    assert with_redis["statestore"].type == "state.sqlite" and with_redis["statestore"].get("actorStateStore") == "true"
    without = {s.name for s in default_components(tmp_path / "b", None)}
    assert without == set(with_redis) - {"lockstore", "configstore"}


def test_written_components_read_back_as_the_same_specs(tmp_path: Path) -> None:
    specs = default_components(tmp_path / "data", "127.0.0.1:6390")
    folder = write_components(specs, tmp_path / "components")
    loaded = load_resources(folder, "daprd")
    assert sorted((s.name, s.type, s.metadata) for s in loaded) == sorted((s.name, s.type, s.metadata) for s in specs)


def test_config_enables_the_named_features(tmp_path: Path) -> None:
    doc = yaml.safe_load(write_config(tmp_path / "config.yaml", ("ActorStateTTL",)).read_text())
    assert doc["kind"] == "Configuration"
    assert doc["spec"]["features"] == [{"name": "ActorStateTTL", "enabled": True}]


def test_start_without_binaries_says_how_to_build(cache: Path) -> None:
    with pytest.raises(DaprdStartError, match="not built in .*: run `dapr-nb daprd build`"):
        Daprd().start()


def test_cli_path(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["daprd", "path"]) == 1
    assert "run `dapr-nb daprd build`" in capsys.readouterr().err
    fake_build(binaries())
    assert main(["daprd", "path", "scheduler"]) == 0
    assert capsys.readouterr().out.strip() == str(cache / DAPR_VERSION / "bin" / "scheduler")
