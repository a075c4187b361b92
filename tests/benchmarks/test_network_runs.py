"""benchmarks/network_runs.py: what makes it fit to run in a fresh process per run.

What each run measures is tested through the section, in tests/benchmarks/test_network.py.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

import fashion_mnist
from benchmarks import network_runs
from tests.conftest import PROJECT_ROOT
from tests.helpers import compat_envs
from tests.helpers.loopback import LoopbackServer, Route


def test_the_runs_module_starts_without_datasets_or_torch() -> None:
    """A Keras-style or torchvision run must not pay for `import datasets` (about a second) in its process."""
    probe = (
        "import json, sys; import benchmarks.network_runs; "
        "print(json.dumps([name in sys.modules for name in ('datasets', 'torch', 'fashion_mnist')]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == [False, False, False]


def test_a_run_counts_requests_not_connections() -> None:
    counts = {"HEAD file": 3, "GET file": 3, "GET api": 2, "connections": 4}
    assert network_runs.request_count(counts) == 8


@pytest.mark.compat
def test_torchvision_downloads_both_splits_from_its_mirror(real_archives: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """The first use of the real torchvision (its environment's python): four GETs, its MD5 check, 70,000 rows."""
    python = compat_envs.ensure_env("vision", compat_envs.CLIENTS["vision"])
    routes = {
        f"/m/{a.filename}": Route.serve((real_archives / a.filename).read_bytes()) for a in fashion_mnist.ARCHIVES
    }
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with LoopbackServer(routes) as mirror:
        command = [str(python), "-m", "benchmarks.network_runs", "torchvision", mirror.url("/m/"), str(tmp_path)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=True)
        fetched = {request.path for request in mirror.requests if request.method == "GET"}
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["rows"] == 70_000 and answer["seconds"] > 0
    assert fetched == set(routes)
