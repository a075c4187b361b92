"""Shared fixtures: synthetic archives, the real archives beside the project, an isolated HF cache."""

from __future__ import annotations

import os
import pathlib

import pytest

from tests import synthetic

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
REAL_ARCHIVES = pathlib.Path(os.environ.get("FASHION_MNIST_ARCHIVES", PROJECT_ROOT.parent / "shared" / "fashion-mnist"))


@pytest.fixture(autouse=True)
def _isolated_hf_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test off the user's caches and off the network."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture
def synthetic_archives(tmp_path: pathlib.Path) -> tuple[pathlib.Path, tuple]:
    """A directory with four small valid archives, and the table that describes them."""
    directory = tmp_path / "archives"
    return directory, synthetic.write_archives(directory)


@pytest.fixture(scope="session")
def real_archives() -> pathlib.Path:
    """The four original archives (never copied into the project)."""
    if not all(
        (REAL_ARCHIVES / name).is_file() for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    ):
        pytest.fail(f"the original archives are expected in {REAL_ARCHIVES} (set FASHION_MNIST_ARCHIVES)")
    return REAL_ARCHIVES
