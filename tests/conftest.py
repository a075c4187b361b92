"""Shared fixtures: synthetic archives, the real archives beside the project, built repositories.

The Hugging Face caches are pointed at a fresh directory before `datasets` or
`huggingface_hub` is imported (both read their paths at import time), so no test
reads or writes the user's caches.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

_HF_HOME = tempfile.mkdtemp(prefix="fashion-mnist-tests-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_DATASETS_CACHE"] = os.path.join(_HF_HOME, "datasets")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_TOKEN", None)

import pytest  # noqa: E402 - after the cache paths are set

from local_hub import LocalHub, clients_pointed_at  # noqa: E402 - imports datasets
from scripts import layout  # noqa: E402
from tests.helpers import synthetic  # noqa: E402 - imports datasets

if TYPE_CHECKING:
    from benchmarks.harness import Setup  # imports torch: only where a benchmark test asks for it

HUB_REPO = layout.REPO_ID  # the repo id the local Hub serves the real build under

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
REAL_ARCHIVES = pathlib.Path(os.environ.get("FASHION_MNIST_ARCHIVES", PROJECT_ROOT.parent / "shared" / "fashion-mnist"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HF_HOME, ignore_errors=True)


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


@pytest.fixture(scope="session")
def real_repo(real_archives: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The Hub copy built once per session from the real archives, through the build's CLI."""
    from scripts import build

    repo = tmp_path_factory.mktemp("real_repo")
    code = build.main(["--data-dir", str(real_archives), "--repo-dir", str(repo), "--num-proc", "2"])
    assert code == 0, "building the real archives failed"
    return repo


@pytest.fixture
def synthetic_repo(
    synthetic_archives: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path
) -> tuple[pathlib.Path, tuple]:
    """A Hub copy built from the synthetic archives, and the archive table it was checked against."""
    from scripts import build

    directory, table = synthetic_archives
    repo = tmp_path / "repo"
    build.build_repo(repo, num_proc=1, data_dir=str(directory), mirrors=[], system_dirs=[], archives=table)
    return repo, table


@pytest.fixture(scope="session")
def local_hub(real_repo: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """olah behind its Range front, serving `org/fashion_mnist` as exactly the push's upload set of the real build."""
    from scripts import push_to_hub

    with LocalHub(tmp_path_factory.mktemp("local_hub")) as hub:
        hub.publish(HUB_REPO, push_to_hub.upload_set(real_repo))
        yield hub


@pytest.fixture
def hub_endpoint(local_hub: LocalHub) -> Iterator[str]:
    """The local Hub's URL, with huggingface_hub, datasets and child processes pointed at it for one test."""
    with clients_pointed_at(local_hub.endpoint):
        yield local_hub.endpoint


@pytest.fixture(scope="session")
def bench_setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """The benchmark's copies made once from the synthetic archives, for `--long` (every row), one run per figure."""
    from benchmarks import copies as bench_copies

    work = tmp_path_factory.mktemp("bench")
    table = synthetic.write_archives(work / "archives")
    return bench_copies.prepare(work / "scratch", bench_builder_kwargs(work / "archives", table), repeat=1, long=True)


def bench_builder_kwargs(archive_dir: pathlib.Path, table: tuple) -> dict:
    """The builder reads only `archive_dir`, checked against the synthetic archives' table."""
    return {"data_dir": str(archive_dir), "mirrors": [], "system_dirs": [], "archives": table}
