"""One epoch of the Trainer example's stream, in a process of its own, for `tests/test_stream_faults.py`.

    HF_ENDPOINT=http://127.0.0.1:PORT python -m tests.helpers.fault_epoch SPEC_JSON OUT_PATH

SPEC_JSON: {"repo_id", "split", "config", "workers", "batch_size", "datasets_config": {NAME: value}}.
The stream is `examples/train_trainer.py`'s `stream(...)`, read as the Trainer reads it: a
`torch.utils.data.DataLoader` with `transformers.default_data_collator`. `datasets_config`
overrides `datasets.config` settings (the streaming retries) before the stream is made, so
forked DataLoader workers inherit them. huggingface_hub's timeouts come from the environment
(`HF_HUB_DOWNLOAD_TIMEOUT`), read when it is imported.

Writes OUT_PATH as JSON: the `(label, pixel digest)` of every example seen, in order, the
error that stopped the epoch (type, message, and its cause) or null, and the seconds it took.
It runs in its own process so the test can kill it, workers and all, if it hangs.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
from typing import Any

import datasets
import torch
import transformers

from examples import train_trainer
from tests.helpers.archives import model_input_examples
from tests.helpers.fault_probe import describe_error  # the compat probe's: the same report in every version


def epoch(spec: dict[str, Any]) -> dict[str, Any]:
    """Stream one epoch through a DataLoader; every example's (label, digest) until it ends or fails."""
    for name, value in spec.get("datasets_config", {}).items():
        if not hasattr(datasets.config, name):
            raise AttributeError(f"datasets {datasets.__version__} has no setting {name}")
        setattr(datasets.config, name, value)
    stream = train_trainer.stream(spec["repo_id"], spec["split"], spec["config"])
    loader = torch.utils.data.DataLoader(
        stream,
        batch_size=spec.get("batch_size", 64),
        num_workers=spec.get("workers", 0),
        collate_fn=transformers.default_data_collator,
    )
    records: list[tuple[int, str]] = []
    error = None
    started = time.perf_counter()
    try:
        for batch in loader:
            records.extend(model_input_examples(batch["pixel_values"], batch["labels"]))
    except Exception as failure:  # noqa: BLE001 - the test judges the error; it is reported, not swallowed
        error = describe_error(failure)
    return {"records": records, "error": error, "seconds": time.perf_counter() - started}


def main(argv: list[str]) -> int:
    spec, out = json.loads(argv[0]), pathlib.Path(argv[1])
    datasets.disable_progress_bars()
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(epoch(spec)), encoding="utf-8")
    partial.replace(out)  # whole or absent: the test reads it even if this process dies on its way out
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
