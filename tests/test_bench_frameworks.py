"""scripts/bench_frameworks.py on a tiny synthetic copy: every framework's figures come out; nothing is timed here."""

from __future__ import annotations

import importlib.util
import pathlib
import types

import pytest

from scripts import bench_frameworks
from scripts.bench_peers import Unavailable


@pytest.fixture
def setup(synthetic_repo: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path) -> types.SimpleNamespace:
    """The attributes of `scripts/benchmark.py`'s `Setup` that the module reads, over the synthetic copy."""
    repo, _ = synthetic_repo
    return types.SimpleNamespace(
        repo=repo, warm_cache=tmp_path / "cache", archive_dir=tmp_path / "archives", repeat=1, work=tmp_path
    )


def test_keras_figures(setup: types.SimpleNamespace) -> None:
    figures = bench_frameworks.bench_keras(setup)
    assert figures["keras_own_seconds"] > 0 and figures["keras_card_seconds"] > 0
    assert figures["keras_card_ratio"] == pytest.approx(figures["keras_card_seconds"] / figures["keras_own_seconds"])
    table = bench_frameworks.markdown(figures)
    assert "`keras.datasets.fashion_mnist.load_data()`" in table and "JAX" not in table


@pytest.mark.skipif(importlib.util.find_spec("jax") is not None, reason="JAX is installed here")
def test_jax_missing_is_reported_not_raised(setup: types.SimpleNamespace) -> None:
    unavailable: dict[str, str] = {}
    figures = bench_frameworks.run_all(setup, unavailable)
    assert "JAX is not installed" in unavailable["frameworks_jax"]
    assert figures["keras_own_seconds"] > 0


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed here")
def test_jax_figures(setup: types.SimpleNamespace) -> None:
    figures = bench_frameworks.bench_jax(setup)
    assert min(figures[f"jax_{name}_seconds"] for name in ("floor", "card", "format")) > 0


def test_no_archives_is_unavailable(setup: types.SimpleNamespace) -> None:
    setup.archive_dir = None
    with pytest.raises(Unavailable, match="no local copy of the archives"):
        bench_frameworks.bench_keras(setup)
    assert bench_frameworks.markdown({}) == ""
