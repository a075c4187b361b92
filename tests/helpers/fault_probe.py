"""Stream one epoch of a split as a user of one `datasets` version would; print what it saw as JSON.

Run with the python of a compat virtual environment (see `tests/helpers/compat_envs.py`), not
the project's: it imports nothing of the project, only `datasets`, numpy and PIL.

    HF_ENDPOINT=http://127.0.0.1:PORT python tests/helpers/fault_probe.py SPEC_JSON

SPEC_JSON: {"repo_id", "split"}. The epoch is `load_dataset(repo_id, split=split, streaming=True)`
iterated to its end with the version's own defaults: every retry and timeout is what a user of
that version gets. Prints the versions, every example's `[label, SHA-1 of its 28x28 uint8
pixels]` in order, the error that stopped the epoch (type, message, cause) or null, and the
seconds the epoch took. `tests/test_compat_faults.py` arms a fault on the local Hub around it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

import datasets
import huggingface_hub
import numpy as np


def pixel_digest(image: object) -> str:
    """SHA-1 of the decoded pixels, as `tests/helpers/archives.pixel_digest` computes it."""
    return hashlib.sha1(np.ascontiguousarray(np.asarray(image, dtype=np.uint8)).tobytes()).hexdigest()


def describe_error(error: BaseException) -> dict[str, str | None]:
    """What stopped the epoch, and what caused it (`datasets` wraps the last retry's error as the cause)."""
    cause = error.__cause__ or error.__context__
    return {
        "type": type(error).__name__,
        "message": str(error)[:1000],
        "cause": f"{type(cause).__name__}: {str(cause)[:300]}" if cause is not None else None,
    }


def main() -> int:
    spec = json.loads(sys.argv[1])
    datasets.disable_progress_bars()
    records, error = [], None
    started = time.perf_counter()
    try:
        stream = datasets.load_dataset(spec["repo_id"], split=spec["split"], streaming=True)
        for example in stream:
            records.append([int(example["label"]), pixel_digest(example["image"])])
    except Exception as failure:  # noqa: BLE001 - reported for the test to judge
        error = describe_error(failure)
    report = {
        "datasets": datasets.__version__,
        "huggingface_hub": huggingface_hub.__version__,
        "records": records,
        "error": error,
        "seconds": time.perf_counter() - started,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
