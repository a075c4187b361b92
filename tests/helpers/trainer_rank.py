"""Run examples/train_trainer.py as a user does, recording what each rank trains on, step by step.

    python -m tests.helpers.trainer_rank RECORD_DIR [example arguments...]
    torchrun --nproc-per-node 2 -m tests.helpers.trainer_rank RECORD_DIR [example arguments...]

The example runs unchanged; a `transformers.TrainerCallback` given to its `main` hooks the
model's forward and appends one JSON line per training step to `RECORD_DIR/rank{RANK}.jsonl`:
`{"step", "time", "read", "examples": [[label, pixel digest], ...]}` (`read`: the Parquet rows the
train stream has read so far in this process), written through at once so a run killed with
SIGKILL leaves every step it took. The first line, `{"event": "start", "time", "pid"}`,
is written before the heavy imports: the seconds to the first step count them, as a user
waiting for a relaunched job does. At the start of training a `{"event": "loader"}` line says
which loader and stream the Trainer trains on, the batch the stream starts at and its batches per epoch.
Evaluation and prediction forwards are not recorded.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

STARTED = time.time()


import torch  # noqa: E402
import transformers  # noqa: E402

from tests.helpers.archives import model_input_examples  # noqa: E402


class RecordExamples(transformers.TrainerCallback):
    """Append each training step's examples to this rank's record file, as the step's forward starts."""

    def __init__(self, record_dir: pathlib.Path) -> None:
        self.stream: object = None
        rank = int(os.environ.get("RANK", "0"))
        self.file = (record_dir / f"rank{rank}.jsonl").open("a", encoding="utf-8", buffering=1)
        self.write({"event": "start", "time": STARTED, "pid": os.getpid()})
        self.step = 0
        self.hook: torch.utils.hooks.RemovableHandle | None = None

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def on_train_begin(self, args: object, state: transformers.TrainerState, control: object, **kwargs: object) -> None:
        self.hook = kwargs["model"].register_forward_pre_hook(self.record, with_kwargs=True)
        loader = kwargs["train_dataloader"]
        self.stream = loader.dataset
        self.write(
            {
                "event": "loader",
                "loader": type(loader).__name__,
                "stream": type(self.stream).__name__,
                "start_batch": self.stream.start_batch,
                "batches_per_epoch": self.stream.batches_per_epoch,
                "world_size": args.world_size,
            }
        )

    def on_step_begin(self, args: object, state: transformers.TrainerState, control: object, **kwargs: object) -> None:
        self.step = state.global_step + 1

    def on_train_end(self, args: object, state: transformers.TrainerState, control: object, **kwargs: object) -> None:
        if self.hook is not None:
            self.hook.remove()
        self.write({"event": "end", "time": time.time(), "step": state.global_step})

    def record(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        if module.training:
            examples = model_input_examples(kwargs["pixel_values"], kwargs["labels"])
            read = self.stream.rows_read
            self.write({"step": self.step, "time": time.time(), "read": read, "examples": examples})


def main(record_dir: pathlib.Path, argv: list[str]) -> None:
    record_dir.mkdir(parents=True, exist_ok=True)
    from examples import train_trainer  # imported here: the first step's seconds count its imports

    train_trainer.cli(argv, callbacks=[RecordExamples(record_dir)])  # leaves the process as the example does


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]), sys.argv[2:])
