"""benchmarks/network_runs.py: what makes it fit to run in a fresh process per run.

What each run measures is tested through the section, in tests/benchmarks/test_network.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks import network_runs
from tests.conftest import PROJECT_ROOT


def test_the_runs_module_starts_without_datasets_or_torch() -> None:
    """A Keras- or torchvision-style run must not pay for `import datasets` (about a second) in its process."""
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
