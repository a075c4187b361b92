"""One rank of the several-nodes test: stream the test split, keep this rank's part, gather every rank's part.

    RANK=0 WORLD_SIZE=2 MASTER_PORT=29500 HF_ENDPOINT=http://127.0.0.1:PORT python -m tests.helpers.stream_rank OUT_DIR

Each rank runs in its own process with `torch.distributed` (gloo, CPU, TCP rendezvous on
127.0.0.1), as `torchrun` would start it, and writes `OUT_DIR/rank{RANK}.json`: the
`(label, pixel digest)` of every example it saw, and what `all_gather_object` gave it.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import sys

import torch.distributed as dist
from datasets import load_dataset
from datasets.distributed import split_dataset_by_node

from scripts.layout import REPO_ID
from tests.helpers.archives import pixel_digest

RENDEZVOUS_TIMEOUT = datetime.timedelta(seconds=120)


def main(out_dir: pathlib.Path) -> None:
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    init = f"tcp://127.0.0.1:{os.environ['MASTER_PORT']}"
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world_size, timeout=RENDEZVOUS_TIMEOUT)
    try:
        part = split_dataset_by_node(
            load_dataset(REPO_ID, split="test", streaming=True), rank=rank, world_size=world_size
        )
        records = [[example["label"], pixel_digest(example["image"])] for example in part]
        gathered: list[object] = [None] * world_size
        dist.all_gather_object(gathered, records)
    finally:
        dist.destroy_process_group()
    result = {"num_shards": part.num_shards, "records": records, "gathered": gathered}
    (out_dir / f"rank{rank}.json").write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
