"""The compatibility matrix under Hub faults: one streamed epoch of the test split per datasets version and fault.

Each version streams `load_dataset("org/fashion_mnist", split="test", streaming=True)` in its
own virtual environment (`tests/helpers/compat_envs.py`) with its own defaults, through
`tests/helpers/fault_probe.py`, while the local Hub's front fails one Parquet read in the
middle of the epoch (the read numbered half the reads of a clean epoch of that version): a
connection reset mid-body, a 503, a 429 with `Retry-After: 1`, or a body that stalls longer
than any client waits; and a Hub that answers 503 to every read from the middle on (no version
of `datasets` retries a 503 itself, so huggingface_hub's backoff alone bounds it, ~23 s; a Hub
down with resets, 429s or stalls keeps a user's epoch retrying for 9 to 30 minutes with the
defaults, too long for this matrix: `tests/test_stream_faults.py` runs those on 5.2 with fewer
turns). Every run is recorded as completed exactly once, completed with
examples missing or repeated, failed with an error (which), or timed out (killed at `BOUND`);
the table is printed. What holds, and is asserted: no version hangs past the bound; on 5.x
every fault completes exactly once or fails with a clear error, and a clean epoch is exactly
once on every version. See `tests/test_stream_faults.py` for the settings that bound retries.

How the versions differ (read from their sources, as the compat environments install them):

- datasets 2.21 / 3.6 with huggingface_hub 0.36 (requests): huggingface_hub retries a range 5
  times (1, 2, 4, 8, 8 s) on a connection error, a timeout or 500/502/503/504, **not 429**;
  datasets' read wrapper retries only connection errors and timeouts
  (`STREAMING_READ_MAX_RETRIES` 20, `STREAMING_READ_RETRY_INTERVAL` 5 s; no 429/504 settings,
  no retries around opening a file). So a single 429 ends the epoch with `HfHubHTTPError`.
- datasets 4.8 with huggingface_hub 1.x (httpx) and 5.2 with 2.x (httpx2): huggingface_hub also
  retries 408 and 429 (waiting `Retry-After` + 1 s); datasets adds its 429 and 504 retries and
  `STREAMING_OPEN_*`. A single fault of any kind leaves the epoch whole.
- Every version: `HF_HUB_DOWNLOAD_TIMEOUT` (10 s) ends a stalled read, and a 503 that outlasts
  huggingface_hub's retries is raised (datasets retries 504, not 503).

Marked `compat`: `make test` leaves it out, `make compat` runs it.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import pathlib
import tempfile

import pytest

from local_hub import FaultKind, Faults, LocalHub
from tests.conftest import HUB_REPO
from tests.helpers import compat_envs
from tests.helpers.archives import split_examples
from tests.helpers.bounded import run_bounded

pytestmark = pytest.mark.compat

PROBE = pathlib.Path(__file__).parent / "helpers" / "fault_probe.py"
SPLIT = "test"
BOUND = 120.0  # seconds an epoch may take, a fault included: clean, under 10 s; a stall adds ~11; 503-down, ~25
STALL = 30.0  # seconds the front holds a stalled body: longer than every version's read timeout (10 s by default)
# fault name -> the faults armed, given the read to fail first (half the reads of the version's clean epoch)
FAULTS = {kind.value: (lambda middle, kind=kind: Faults(kind, first=middle, stall_seconds=STALL)) for kind in FaultKind}
FAULTS["503-down"] = lambda middle: Faults(FaultKind.UNAVAILABLE, first=middle, count=None)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one epoch ended: `once`, `wrong` (ended, examples missing or repeated), `error`, or `timed out`."""

    verdict: str
    seconds: float
    examples: int = 0
    detail: str = ""
    faults_served: int = 0

    def cell(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.verdict}{detail} ({self.seconds:.1f} s, {self.examples} ex.)"


@pytest.fixture(scope="module")
def compat_pythons() -> dict[str, pathlib.Path]:
    """version -> the python of its environment; shared with tests/test_compat.py through the cache."""
    return compat_envs.ensure_envs(compat_envs.MATRIX)


@pytest.fixture(scope="module")
def expected_examples(real_archives: pathlib.Path) -> collections.Counter:
    return split_examples(real_archives, SPLIT)


def run_probe(python: pathlib.Path, endpoint: str) -> dict | None:
    """The probe's report, or None if it outlived `BOUND` (then it is killed with its process group)."""
    with tempfile.TemporaryDirectory(prefix="fault-probe-home-") as home:
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
        environment |= {"HF_ENDPOINT": endpoint, "HF_HOME": home, "HF_HUB_DISABLE_TELEMETRY": "1"}
        command = [str(python), str(PROBE), json.dumps({"repo_id": HUB_REPO, "split": SPLIT})]
        # cwd: not the checkout, so nothing of the project is on the path
        finished = run_bounded(command, cwd=home, env=environment, timeout=BOUND)
    if finished is None:
        return None
    returncode, stdout, stderr = finished
    assert returncode == 0, stderr[-5000:]
    return json.loads(stdout.strip().splitlines()[-1])


def judge(report: dict | None, expected: collections.Counter, served: int) -> Outcome:
    if report is None:
        return Outcome("timed out", BOUND, faults_served=served)
    seen = collections.Counter(map(tuple, report["records"]))
    common = {"seconds": report["seconds"], "examples": seen.total(), "faults_served": served}
    if report["error"] is not None:
        error = report["error"]
        cause = f" (from {error['cause'].splitlines()[0]})" if error["cause"] else ""
        return Outcome("error", detail=f"{error['type']}: {error['message'].splitlines()[0]}{cause}", **common)
    if seen == expected:
        return Outcome("once", **common)
    missing, extra = (expected - seen).total(), (seen - expected).total()
    return Outcome("wrong", detail=f"{missing} missing, {extra} extra", **common)


@pytest.fixture(scope="module")
def matrix(
    compat_pythons: dict[str, pathlib.Path], local_hub: LocalHub, expected_examples: collections.Counter
) -> dict[tuple[str, str], Outcome]:
    """(version, fault) -> outcome, for every version and fault; the table is printed."""
    outcomes: dict[tuple[str, str], Outcome] = {}
    front = local_hub.front
    for version, python in compat_pythons.items():
        front.faults = None
        report = run_probe(python, local_hub.endpoint)
        outcomes[version, "none"] = judge(report, expected_examples, 0)
        middle = max(1, front.data_reads // 2)
        for name, faults in FAULTS.items():
            with front.failing(faults(middle)):
                report = run_probe(python, local_hub.endpoint)
                outcomes[version, name] = judge(report, expected_examples, front.faults_served)
    print_table(outcomes)
    return outcomes


def print_table(outcomes: dict[tuple[str, str], Outcome]) -> None:
    print("\n| datasets | fault (one read mid-epoch; -down: every read from there) | outcome |\n|---|---|---|")
    for (version, fault), outcome in outcomes.items():
        print(f"| {version} | {fault} | {outcome.cell()} |")


def served_as_armed(fault: str, outcome: Outcome) -> bool:
    """A single fault failed exactly one read; a Hub that stays down failed at least one (the retries, more)."""
    return outcome.faults_served >= 1 if fault.endswith("-down") else outcome.faults_served == 1


@pytest.mark.parametrize("version", list(compat_envs.MATRIX))
def test_no_version_hangs_on_a_fault_and_a_clean_epoch_is_exactly_once(
    version: str, matrix: dict[tuple[str, str], Outcome]
) -> None:
    mine = {fault: outcome for (name, fault), outcome in matrix.items() if name == version}
    assert mine["none"].verdict == "once", mine["none"]
    hung = {fault: outcome for fault, outcome in mine.items() if outcome.verdict == "timed out"}
    assert not hung, f"datasets {version} did not end within {BOUND:.0f} s: {hung}"
    unserved = [fault for fault, outcome in mine.items() if fault != "none" and not served_as_armed(fault, outcome)]
    assert not unserved, f"datasets {version}: the fault was not served once for {unserved}"


def test_on_5x_every_fault_ends_exactly_once_or_with_a_clear_error(matrix: dict[tuple[str, str], Outcome]) -> None:
    current = {key: outcome for key, outcome in matrix.items() if key[0].startswith("5.")}
    assert current, "the matrix has no 5.x version"
    unclear = {key: outcome for key, outcome in current.items() if outcome.verdict not in ("once", "error")}
    assert not unclear, unclear
    errors = {key: outcome for key, outcome in current.items() if outcome.verdict == "error"}
    assert all(outcome.detail for outcome in errors.values()), errors
