"""An epoch of the Trainer example's stream while the Hub fails mid-epoch: each fault ends well or ends clearly.

Users stream `org/fashion_mnist` into the `transformers` Trainer for hours; in `datasets`
a Hub fault mid-run has stopped long runs (huggingface/datasets#3049, #6172). Here the local
Hub's front (`local_hub.Faults`) fails the Parquet reads of one epoch of the
test split, read as the Trainer reads it (`tests.helpers.fault_epoch`: a DataLoader over
`examples/train_trainer.py`'s `stream`), and each epoch must either give every example
exactly once or stop with a clear error, in a process the test kills if it outlives its bound.

What bounds the retries (datasets 5.2 and huggingface_hub 2.4, read from their sources):

- huggingface_hub reads each byte range with `http_backoff` (`HfFileSystemFile._fetch_range`):
  5 retries on a connection error, a read timeout, or 408/429/500/502/503/504, sleeping
  1, 2, 4, 8, 8 s (23 s in all), or `Retry-After` + 1 s when the answer says so. Each
  attempt waits at most `HF_HUB_DOWNLOAD_TIMEOUT` (default 10 s) for the connection and for
  each read of the body: that is what ends a stalled body. `HF_HUB_ETAG_TIMEOUT` (default
  10 s) bounds the metadata calls made before the epoch, not the reads.
- Above it, `datasets` wraps every streamed file's `read` (`_add_retries_to_file_obj_read_method`):
  `STREAMING_READ_MAX_RETRIES` attempts (default 20; read when the file is opened), sleeping
  `STREAMING_READ_RETRY_INTERVAL` (5 s) after a connection error or timeout,
  `STREAMING_READ_RATE_LIMIT_RETRY_INTERVAL` (60 s) after a 429 and
  `STREAMING_READ_SERVER_UNAVAILABLE_RETRY_INTERVAL` (20 s) after a **504** (not a 503:
  a 503 that outlasts huggingface_hub's retries is raised at once). When the attempts are
  spent it raises `ConnectionError("Server Disconnected")`. `STREAMING_OPEN_MAX_RETRIES` /
  `STREAMING_OPEN_RETRY_INTERVAL` (20, 5 s) do the same for connection errors around opening a
  file; opening a Hub file asks the API for its size, not for data (the first range is read on
  the first `read`), so the faults here, on data reads only, never reach that loop.

So one failed request costs a user about a second (a stall: the read timeout, 10 s, and a
second) and the epoch goes on. A Hub that stays down ends a user's epoch after about 23 s on
503s, but only after 20 x (23 + 5) s ~ 9 min of resets, 20 x (5 x 2 + 60) s ~ 23 min of
429s with `Retry-After: 1`, and 20 x (6 x 10 + 23 + 5) s ~ 29 min of stalls. The tests
below keep those persistent cases short by setting `STREAMING_READ_MAX_RETRIES` to 1 and the
read timeout to 2 s: the same code paths, fewer turns; and they run side by side, each
through a front of its own on the same olah, since they spend most of their time asleep.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import json
import os
import pathlib
import sys
from collections.abc import Iterator

import pytest

import fashion_mnist
from local_hub import FaultKind, Faults, LocalHub, RangeFront
from tests.conftest import HUB_REPO, PROJECT_ROOT
from tests.helpers.archives import split_examples
from tests.helpers.bounded import run_bounded

SPLIT = "test"
MID_EPOCH = 16  # the 16th Parquet read: the body of the 8th of 16 shards (a footer and a body a shard)
HUB_BACKOFF = 1 + 2 + 4 + 8 + 8  # seconds huggingface_hub sleeps over its 5 retries of one request
SHORT_READ_TIMEOUT = 2  # HF_HUB_DOWNLOAD_TIMEOUT for the stalls (default 10 s): a stall ends in 2 s, not 10
STALL = 3 * SHORT_READ_TIMEOUT  # the front holds a stalled body longer than the client waits, and not much more
# Fewer turns for a Hub that stays down: one attempt of datasets' read wrapper, short sleeps between.
ONE_ATTEMPT = {
    "STREAMING_READ_MAX_RETRIES": 1,
    "STREAMING_READ_RETRY_INTERVAL": 0.5,
    "STREAMING_READ_RATE_LIMIT_RETRY_INTERVAL": 0.5,
    "STREAMING_READ_SERVER_UNAVAILABLE_RETRY_INTERVAL": 0.5,
}
EPOCH_SECONDS = 60  # an epoch of the test split with its imports takes under 10 s alone on 2 cores; 4 at once, more


@dataclasses.dataclass(frozen=True)
class Case:
    """A fault, how the epoch reads, and what it must end in within `bound` seconds."""

    name: str
    faults: Faults
    workers: int = 0
    datasets_config: dict[str, float] = dataclasses.field(default_factory=dict)
    read_timeout: int | None = None  # HF_HUB_DOWNLOAD_TIMEOUT; None: the user's default (10 s)
    error: tuple[str, str] | None = None  # (type, text in its message); None: every example exactly once
    bound: float = EPOCH_SECONDS


ONCE = [
    # One failed read, mid-epoch: huggingface_hub retries it after 1 s (429: after Retry-After + 1 s).
    Case("reset", Faults(FaultKind.RESET, MID_EPOCH)),
    Case("reset-2-workers", Faults(FaultKind.RESET, MID_EPOCH), workers=2),
    Case("503", Faults(FaultKind.UNAVAILABLE, MID_EPOCH)),
    Case("429", Faults(FaultKind.RATE_LIMITED, MID_EPOCH)),
    # A stalled body: the read timeout ends the attempt; the retry reads the range again.
    Case("stall", Faults(FaultKind.STALL, MID_EPOCH, stall_seconds=STALL), read_timeout=SHORT_READ_TIMEOUT),
    Case(
        "stall-2-workers",
        Faults(FaultKind.STALL, MID_EPOCH, stall_seconds=STALL),
        workers=2,
        read_timeout=SHORT_READ_TIMEOUT,
    ),
]
DOWN = [
    # Every read from mid-epoch on fails. 503: huggingface_hub's last answer is raised, datasets does not retry it.
    Case(
        "503-down",
        Faults(FaultKind.UNAVAILABLE, MID_EPOCH, count=None),
        error=("HfHubHTTPError", "503 Service Unavailable"),
        bound=EPOCH_SECONDS + HUB_BACKOFF,
    ),
    # 429, resets, stalls: huggingface_hub gives up, then datasets' wrapper, after its (here one) attempts.
    Case(
        "429-down",
        Faults(FaultKind.RATE_LIMITED, MID_EPOCH, count=None),
        datasets_config=ONE_ATTEMPT,
        error=("ConnectionError", "Server Disconnected"),
        bound=EPOCH_SECONDS + 5 * 2,
    ),
    Case(
        "reset-down",
        Faults(FaultKind.RESET, MID_EPOCH, count=None),
        datasets_config=ONE_ATTEMPT,
        error=("ConnectionError", "Server Disconnected"),
        bound=EPOCH_SECONDS + HUB_BACKOFF,
    ),
    Case(
        "stall-down",
        Faults(FaultKind.STALL, MID_EPOCH, count=None, stall_seconds=STALL),
        datasets_config=ONE_ATTEMPT,
        read_timeout=SHORT_READ_TIMEOUT,
        error=("ConnectionError", "Server Disconnected"),
        bound=EPOCH_SECONDS + HUB_BACKOFF + 6 * SHORT_READ_TIMEOUT,
    ),
]


@pytest.fixture(scope="module")
def expected_examples(real_archives: pathlib.Path) -> collections.Counter:
    """The split as a multiset of (label, pixel digest), from the archives alone."""
    return split_examples(real_archives, SPLIT)


def run_epoch(case: Case, endpoint: str, work: pathlib.Path) -> dict | None:
    """The epoch in a child process (its own session, so its DataLoader workers die with it); None if it outlived
    the case's bound (it is killed then)."""
    spec = {
        "repo_id": HUB_REPO,
        "split": SPLIT,
        "config": fashion_mnist.NAME,
        "workers": case.workers,
        "datasets_config": case.datasets_config,
    }
    out, home = work / "epoch.json", work / "hf-home"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    environment |= {"HF_ENDPOINT": endpoint, "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1"}
    if case.read_timeout is not None:
        environment["HF_HUB_DOWNLOAD_TIMEOUT"] = str(case.read_timeout)
    command = [sys.executable, "-m", "tests.helpers.fault_epoch", json.dumps(spec), str(out)]
    finished = run_bounded(command, cwd=PROJECT_ROOT, env=environment, timeout=case.bound)
    if finished is None:
        return None
    returncode, _, stderr = finished
    if not out.is_file():  # the epoch's outcome was never written: the child failed outside the epoch's own code
        raise RuntimeError(f"{case.name}: the epoch's process failed (exit {returncode}):\n{stderr[-5000:]}")
    # Written (atomically) once the epoch ended: that outcome is what is judged, even if the interpreter failed on its
    # way out. One full run saw the 503-down child abort at exit, after its epoch had stopped on the 503 ("terminate
    # called without an active exception": a native thread still alive at teardown); the exit is kept for the report.
    return json.loads(out.read_text(encoding="utf-8")) | {"exit": returncode}


def ended(result: dict | None, case: Case) -> dict:
    """The epoch's result; the test fails if it hung."""
    if result is None:
        pytest.fail(f"{case.name}: the epoch neither ended nor failed within {case.bound:.0f} s (a hang)")
    return result


@contextlib.contextmanager
def own_front(hub: LocalHub) -> Iterator[RangeFront]:
    """Another front on the same olah and stored objects, with faults of its own: cases can run side by side."""
    with RangeFront(hub.olah_url, stored_object=hub.stored_object) as front:
        yield front


def run_down_case(case: Case, hub: LocalHub, work: pathlib.Path) -> tuple[dict | None, int]:
    with own_front(hub) as front, front.failing(case.faults):
        return run_epoch(case, front.url, work), front.faults_served


@pytest.fixture(scope="module")
def down_results(local_hub: LocalHub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict | None, int]]:
    """The cases of a Hub that stays down, all at once (each its own front): they mostly sleep in backoff."""
    with concurrent.futures.ThreadPoolExecutor(len(DOWN)) as pool:
        futures = {
            case.name: pool.submit(run_down_case, case, local_hub, tmp_path_factory.mktemp(case.name)) for case in DOWN
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", ONCE, ids=lambda case: case.name)
def test_one_failed_read_mid_epoch_still_gives_every_example_once(
    case: Case, local_hub: LocalHub, tmp_path: pathlib.Path, expected_examples: collections.Counter
) -> None:
    with local_hub.front.failing(case.faults):
        result = ended(run_epoch(case, local_hub.endpoint, tmp_path), case)
        served = local_hub.front.faults_served

    print(f"{case.name}: {result['seconds']:.1f} s, {len(result['records'])} examples, error {result['error']}")
    assert served == 1, "the fault was not served: the test proves nothing"
    assert result["error"] is None
    assert collections.Counter(map(tuple, result["records"])) == expected_examples


@pytest.mark.parametrize("case", DOWN, ids=lambda case: case.name)
def test_a_hub_that_stays_down_stops_the_epoch_with_a_clear_error(
    case: Case, down_results: dict[str, tuple[dict | None, int]], expected_examples: collections.Counter
) -> None:
    outcome, served = down_results[case.name]
    result = ended(outcome, case)

    print(f"{case.name}: stopped after {result['seconds']:.1f} s, {len(result['records'])} examples, {result['error']}")
    print(f"{case.name}: the epoch's process exited with {result['exit']}")
    assert served > 1  # huggingface_hub retried
    assert result["error"] is not None, "every read from mid-epoch on failed, yet the epoch ended"
    kind, text = case.error
    assert result["error"]["type"] == kind, result["error"]
    assert text in result["error"]["message"], result["error"]
    seen = collections.Counter(map(tuple, result["records"]))
    assert 0 < seen.total() < expected_examples.total()  # it stopped mid-epoch, after delivering what it had
    assert not seen - expected_examples  # and what it delivered was real, none twice
