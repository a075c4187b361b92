"""Train a tiny CNN on Fashion-MNIST streamed from the Hub with the `transformers` Trainer, then test it.

    python examples/train_trainer.py --repo-id org/fashion_mnist --max-steps 300 --output-dir runs/cnn
    python examples/train_trainer.py --config pixels ...   # the decode-free config: no PNG decoding
    python examples/train_trainer.py --output-dir runs/cnn --resume   # after a crash: from the last checkpoint
    torchrun --nproc-per-node 2 examples/train_trainer.py ...           # 2 ranks (CPU: DDP over gloo)
    accelerate launch --multi_gpu --num_processes 2 examples/train_trainer.py ...   # the same, through torchrun

The train split is streamed, never downloaded whole: each rank reads its own Parquet row
groups, epoch after epoch, shuffled anew each epoch in an order that depends on the seed and
the epoch alone (`ExactStream`), so the Trainer is told `max_steps`. A CPU is enough: a few
hundred steps of 64 images reach well over 70% test accuracy in under a minute on two cores.
Both configs give the model the same inputs: `pixel_values` float32 `[N, 1, 28, 28]` in 0..1
and `labels`.

Checkpoints are written every `--save-steps`; `--resume` continues from the last complete
one, exactly: the batches trained after it are those an uninterrupted run would have trained,
in the same order, on any number of ranks, in any epoch. The stream's position is the
checkpoint's step; the resumed run reads the row groups of that step's shuffle window and
decodes nothing it does not train on, so it starts about as fast as a fresh run.

Stopping: each rank leaves with status 0, or 1 and one line saying why (a Hub that stays down:
about a minute and a half; no progress for `--stall-seconds`; its torchrun launcher gone), never
hanging or aborting on its way out. A run checks before each checkpoint that the output
directory is still its own, so a stray rank of a killed run cannot write beside its relaunch.
To stop a torchrun job by hand, kill the ranks too, not only the launcher (each rank runs in a
session of its own; left alone, they stop within seconds of noticing the launcher gone).

On a CPU, `accelerate launch --num_processes 2 --cpu` (accelerate 1.16) starts ONE process
(its multi-CPU launch needs `--mpirun_hostfile`); `--multi_gpu` launches through torchrun, and
`use_cpu` keeps the ranks on the CPU, over gloo.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import functools
import io
import json
import os
import pathlib
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn, TypeVar

import datasets
import fsspec
import numpy as np
import PIL.Image
import pyarrow
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
import transformers
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

NUM_LABELS = 10
SHUFFLE_WINDOW = 10  # row groups of 1,000 examples shuffled together: a sixth of the train split
STALL_SECONDS = 600.0  # the longest a rank waits without progress (a step, a save, a prediction batch)
CONFIGS = ("fashion_mnist", "pixels")
T = TypeVar("T")


def images_to_model_inputs(batch: dict[str, list]) -> dict[str, np.ndarray]:
    """PIL images -> float `pixel_values` [N, 1, 28, 28] in 0..1; `label` -> `labels`, as the Trainer expects."""
    pixels = np.stack([np.asarray(image, dtype=np.float32) for image in batch["image"]]) / 255.0
    return {"pixel_values": pixels[:, None], "labels": np.asarray(batch["label"], dtype=np.int64)}


def pixels_to_model_inputs(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw pixels `[N, 784]` (a numpy batch) -> the same `pixel_values` and `labels`: a reshape, no decoding."""
    pixels = batch["pixels"].reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    return {"pixel_values": pixels, "labels": batch["label"].astype(np.int64)}


def stream(repo_id: str, split: str, config: str) -> datasets.IterableDataset:
    """The split as a `datasets` stream of model inputs, in file order (the example predicts the test split on it)."""
    return as_model_inputs(datasets.load_dataset(repo_id, config, split=split, streaming=True), config)


def as_model_inputs(
    examples: datasets.Dataset | datasets.IterableDataset, config: str
) -> datasets.Dataset | datasets.IterableDataset:
    """A split's examples (a stream or a `Dataset`) mapped to the model's `pixel_values` and `labels`, as tensors."""
    if config == "pixels":
        # The numpy format hands `map` Arrow batches as arrays; the Python format would build a list
        # of 784 ints per example first.
        examples = examples.with_format("numpy")
        to_model_inputs, columns = pixels_to_model_inputs, ["pixels", "label"]
    else:
        to_model_inputs, columns = images_to_model_inputs, ["image", "label"]
    return examples.map(to_model_inputs, batched=True, remove_columns=columns).with_format("torch")


@dataclasses.dataclass(frozen=True)
class RowGroup:
    """One Parquet row group of the split: the unit the exact stream shuffles, deals to ranks and reads."""

    file: str  # an hf:// path pinned at a commit (a local path for a local folder)
    index: int
    num_rows: int


class ExactStream(torch.utils.data.IterableDataset):
    """One rank's part of a split as an endless stream of whole batches of model inputs, shuffled anew each epoch,
    whose order is a pure function of (seed, epoch): so a position (the batches taken) is all a resume needs.

    Each epoch permutes the split's row groups (1,000 rows; 16 files of 3,750 rows make 64 in train), deals them to
    the ranks round-robin (each size of row group apart, so ranks get equal rows whenever the counts divide), and
    permutes the examples within windows of `window` consecutive row groups of the rank (10: 10,000 examples, as
    large as a shuffle buffer would be). A batch never spans two epochs: an epoch's last batch is partial. Batch `b`
    of the rank lies at a place known in advance, so starting at `b` reads its window's row groups and decodes only
    the batches trained. With DataLoader workers, worker `w` makes the batches `b` with `b % workers == w`, and the
    DataLoader's in-order fetching keeps the sequence. Reads are retried (`READ_ATTEMPTS`), then fail with the file.
    """

    def __init__(
        self, repo_id: str, split: str, config: str, *, seed: int, window: int, batch_size: int,
        rank: int = 0, world_size: int = 1, revision: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.repo_id, self.split, self.config = repo_id, split, config
        self.seed, self.window, self.batch_size = seed, window, batch_size
        self.rank, self.world_size = rank, world_size
        files, self.revision = split_files(repo_id, config, split, revision)
        self.row_groups = list_row_groups(files)
        self.start_batch = 0
        self.rows_read = 0  # Parquet rows read in this process (the tests compare a resume's with a fresh start's)
        self._windows: dict[tuple[int, int], pyarrow.Table] = {}

    def state(self, next_batch: int) -> dict[str, object]:
        """What a checkpoint keeps of this rank's stream: where it is, and the settings that position holds for."""
        epoch, batch_in_epoch = divmod(next_batch, self.batches_per_epoch)
        return {
            "next_batch": next_batch, "epoch": epoch, "batch_in_epoch": batch_in_epoch, "rank": self.rank,
            **self.identity(),
        }  # fmt: skip

    def identity(self) -> dict[str, object]:
        """The settings a saved position depends on: a resume with other ones could not be exact."""
        return {
            "repo_id": self.repo_id, "revision": self.revision, "split": self.split, "config": self.config,
            "seed": self.seed, "window": self.window, "batch_size": self.batch_size, "world_size": self.world_size,
        }  # fmt: skip

    def resume_at(self, checkpoint: str | None) -> None:
        """Start at the checkpoint's position: the step it saved, checked against the stream state saved beside it."""
        self.start_batch = 0
        if checkpoint is None:
            return
        step = json.loads(pathlib.Path(checkpoint, "trainer_state.json").read_text())["global_step"]
        saved_path = stream_state_path(checkpoint, self.rank)
        if saved_path.is_file():
            saved = json.loads(saved_path.read_text())
            found = {key: saved.get(key) for key in self.identity()}
            if found != self.identity() or saved["next_batch"] != step:
                raise ValueError(
                    f"{saved_path}: the checkpoint was trained on a stream of {found} at batch {saved['next_batch']}, "
                    f"this run streams {self.identity()} from batch {step}; resuming would not be exact: relaunch "
                    "with the checkpoint's settings (and as many ranks), or train into a new --output-dir"
                )
        self.start_batch = step

    @functools.cached_property
    def rows_per_epoch(self) -> int:
        return sum(group.num_rows for group in self.epoch_row_groups(0))

    @functools.cached_property
    def batches_per_epoch(self) -> int:
        return -(-self.rows_per_epoch // self.batch_size)

    def epoch_row_groups(self, epoch: int) -> list[RowGroup]:
        """This rank's row groups in epoch `epoch`, in the order it reads them."""
        groups = self.row_groups
        rng = np.random.default_rng([self.seed, epoch])
        if self.window:
            groups = [groups[i] for i in rng.permutation(len(groups))]
        mine = []
        for size in sorted({group.num_rows for group in groups}):  # deal each size apart: equal rows per rank
            mine += [group for group in groups if group.num_rows == size][self.rank :: self.world_size]
        if self.window:
            mine = [mine[i] for i in np.random.default_rng([self.seed, epoch, self.rank]).permutation(len(mine))]
        return mine

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        worker = torch.utils.data.get_worker_info()
        workers, me = (worker.num_workers, worker.id) if worker else (1, 0)
        batch = self.start_batch + me
        while True:
            yield self.make_batch(batch)
            batch += workers

    def make_batch(self, batch: int) -> dict[str, torch.Tensor]:
        """Batch `batch` of this rank (counted over epochs): its rows found, taken as Arrow, then decoded."""
        epoch, index = divmod(batch, self.batches_per_epoch)
        first, last = index * self.batch_size, min((index + 1) * self.batch_size, self.rows_per_epoch)
        groups = self.epoch_row_groups(epoch)
        window_rows = self.window or len(groups)
        parts, start = [], 0
        for number in range(0, len(groups), window_rows):
            window = groups[number : number + window_rows]
            size = sum(group.num_rows for group in window)
            if start < last and first < start + size:
                rows = self.window_table(epoch, number // window_rows, window)
                parts.append(rows.slice(max(first - start, 0), min(last, start + size) - max(first, start)))
            start += size
        return table_to_model_inputs(pyarrow.concat_tables(parts), self.config)

    def window_table(self, epoch: int, number: int, window: list[RowGroup]) -> pyarrow.Table:
        """A window's rows, permuted (not decoded); the last two windows are kept (a batch can span two)."""
        key = (epoch, number)
        if key not in self._windows:
            table = pyarrow.concat_tables([read_row_group(group) for group in window])
            self.rows_read += table.num_rows
            if self.window:
                order = np.random.default_rng([self.seed, epoch, self.rank, number]).permutation(table.num_rows)
                table = table.take(order)
            self._windows = {k: v for k, v in self._windows.items() if k > (epoch, number - 2)} | {key: table}
        return self._windows[key]


READ_ATTEMPTS = 4  # a row group's read, tried again 2, 4 and 8 s later (below: huggingface_hub's own retries)


def split_files(repo_id: str, config: str, split: str, revision: str | None) -> tuple[list[str], str | None]:
    """The split's Parquet files as `datasets` resolves the card's `configs` (hf:// paths pinned at a commit),
    and that commit: a resumed run reads the files its checkpoint was trained on, even after a new push."""
    builder = datasets.load_dataset_builder(repo_id, config, revision=revision)
    files = sorted(builder.config.data_files[split])
    pinned = re.search(r"@([0-9a-f]{40})/", files[0]) if files else None
    return files, pinned.group(1) if pinned else revision


def list_row_groups(files: Sequence[str]) -> list[RowGroup]:
    """Every row group of the files, from their footers (read in parallel: a few KB each)."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        footers = list(pool.map(lambda file: retried(file, lambda handle: pq.read_metadata(handle)), files))
    return [
        RowGroup(file, index, footer.row_group(index).num_rows)
        for file, footer in zip(files, footers, strict=True)
        for index in range(footer.num_row_groups)
    ]


def read_row_group(group: RowGroup) -> pyarrow.Table:
    return retried(group.file, lambda handle: pq.ParquetFile(handle).read_row_group(group.index))


def retried(file: str, read: Callable[[object], T]) -> T:
    """`read(an open handle of file)`, tried READ_ATTEMPTS times (each on a fresh handle, as a failed one may hold
    half a block); the last failure is raised naming the file. Each HTTP request is bounded by
    `HF_HUB_DOWNLOAD_TIMEOUT` and retried by huggingface_hub first: a Hub that stays down fails a read in about a
    minute and a half."""
    for attempt in range(READ_ATTEMPTS):
        try:
            with fsspec.open(file, "rb") as handle:  # hf:// through huggingface_hub's HfFileSystem; or a local file
                return read(handle)
        except Exception as error:  # any failure of a read is retried, then reported
            if attempt + 1 == READ_ATTEMPTS:
                raise OSError(f"reading {file} failed {READ_ATTEMPTS} times, last: {error}") from error
            time.sleep(2 ** (attempt + 1))
    raise AssertionError("unreachable")


def table_to_model_inputs(table: pyarrow.Table, config: str) -> dict[str, torch.Tensor]:
    """Arrow rows of either config -> the model's tensors: the same functions the `datasets` stream maps with."""
    if config == "pixels":
        pixels = pc.list_flatten(table["pixels"]).to_numpy().reshape(table.num_rows, -1)
        inputs = pixels_to_model_inputs({"pixels": pixels, "label": table["label"].to_numpy()})
    else:
        images = [PIL.Image.open(io.BytesIO(cell["bytes"])) for cell in table["image"].to_pylist()]
        inputs = images_to_model_inputs({"image": images, "label": table["label"].to_pylist()})
    return {name: torch.from_numpy(array) for name, array in inputs.items()}


class TinyCnn(torch.nn.Module):
    """Two conv blocks and a small classifier head; returns the dict (`loss`, `logits`) the Trainer expects."""

    def __init__(self, num_labels: int = NUM_LABELS) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),  # 14x14
            torch.nn.Conv2d(16, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),  # 7x7
            torch.nn.Flatten(),
            torch.nn.Linear(32 * 7 * 7, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, num_labels),
        )

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = self.layers(pixel_values)
        if labels is None:
            return {"logits": logits}
        return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}


class StreamTrainer(transformers.Trainer):
    """The Trainer, on an `ExactStream`: each checkpoint records every rank's position, and a resumed run starts
    there, reading only the window it falls in; nothing trained before is read again or decoded.

    The Trainer's own resume re-reads `global_step` batches and drops them (accelerate's `skip_first_batches`);
    with `ignore_data_skip` it trains on from wherever its loader starts. The stream is told where to start instead:
    the checkpoint's step, as every rank trains one batch a step (no gradient accumulation). The loader is a plain
    `DataLoader(batch_size=None)` over the stream's whole batches: each rank's stream holds its own row groups, so
    accelerate must neither shard it nor send batches from rank 0.
    """

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs: object) -> transformers.TrainOutput:
        if resume_from_checkpoint is True:
            resume_from_checkpoint = last_complete_checkpoint(self.args.output_dir)
        if isinstance(self.train_dataset, ExactStream):
            self.train_dataset.resume_at(resume_from_checkpoint)
            self.args.ignore_data_skip = True
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    def get_train_dataloader(self) -> torch.utils.data.DataLoader:
        if not isinstance(self.train_dataset, ExactStream):
            return super().get_train_dataloader()
        return torch.utils.data.DataLoader(
            self.train_dataset,
            batch_size=None,  # the stream yields whole batches, the last of an epoch partial
            num_workers=self.args.dataloader_num_workers,
            persistent_workers=self.args.dataloader_num_workers > 0,
        )


class StreamStateCallback(transformers.TrainerCallback):
    """Write this rank's stream position into each checkpoint, once the Trainer has saved its part of it: the file
    (about 300 bytes) is the checkpoint's last, so its presence on every rank marks the checkpoint complete."""

    def __init__(self, stream: ExactStream) -> None:
        self.stream = stream

    def on_save(
        self, args: transformers.TrainingArguments, state: transformers.TrainerState, control: object, **kwargs: object
    ) -> None:
        checkpoint = pathlib.Path(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        write_atomically(stream_state_path(checkpoint, args.process_index), self.stream.state(state.global_step))


class RunGuard(transformers.TrainerCallback):
    """Keep a run from writing where it no longer owns, and from waiting forever.

    - Ownership: the run writes a fresh id into `OUTPUT_DIR/run-owner.json` when it starts; before each checkpoint
      every rank checks it, so a stray rank of an older run (its launcher killed, it trains on) stops instead of
      writing checkpoints beside the new run's.
    - Progress: a watchdog thread stops the rank with one line on stderr, exit status 1, when no step, save or
      prediction batch has come for `stall_seconds`, or when the rank's launcher (torchrun) is gone.
    """

    def __init__(self, output_dir: str, stall_seconds: float) -> None:
        self.owner_path = pathlib.Path(output_dir, "run-owner.json")
        self.run_id = uuid.uuid4().hex
        self.stall_seconds = stall_seconds
        self.beat = time.monotonic()
        self.doing = "starting"
        self.stopped = threading.Event()

    def claim(self, is_main: bool) -> None:
        """Agree on one run id across ranks (rank 0's), and have rank 0 record it in the output directory."""
        if torch.distributed.is_initialized():
            shared = [self.run_id]
            torch.distributed.broadcast_object_list(shared, src=0)
            self.run_id = shared[0]
        if is_main:
            write_atomically(self.owner_path, {"run_id": self.run_id, "pid": os.getpid()})

    def watch(self, rank: int) -> None:
        launcher = os.getppid() if "TORCHELASTIC_RUN_ID" in os.environ else None
        threading.Thread(target=self._watch, args=(rank, launcher), daemon=True, name="run-guard").start()

    def _watch(self, rank: int, launcher: int | None) -> None:
        while not self.stopped.wait(1.0):
            if launcher is not None and os.getppid() != launcher:
                stop_now(1, f"rank {rank}: its launcher (pid {launcher}) is gone; stopping")
            idle = time.monotonic() - self.beat
            if idle > self.stall_seconds:
                stop_now(1, f"rank {rank}: no progress for {idle:.0f} s while {self.doing} (--stall-seconds); stopping")

    def alive(self, doing: str) -> None:
        self.beat, self.doing = time.monotonic(), doing

    def on_step_end(
        self, args: transformers.TrainingArguments, state: transformers.TrainerState, control: object, **kwargs: object
    ) -> None:
        self.alive(f"training after step {state.global_step}")
        if control.should_save:
            owner = json.loads(self.owner_path.read_text()).get("run_id") if self.owner_path.is_file() else None
            if owner != self.run_id:
                raise RuntimeError(
                    f"{self.owner_path} names run {owner}, not this run ({self.run_id}): a newer run took "
                    f"{args.output_dir} over; this run stops before writing checkpoint {state.global_step}"
                )

    def on_save(self, args: object, state: transformers.TrainerState, control: object, **kwargs: object) -> None:
        self.alive(f"saved checkpoint {state.global_step}")

    def on_prediction_step(self, args: object, state: object, control: object, **kwargs: object) -> None:
        self.alive("predicting")


def last_complete_checkpoint(output_dir: str) -> str | None:
    """The newest checkpoint every rank finished (see `StreamStateCallback`); a run killed while saving leaves a
    partial one, which `get_last_checkpoint` would pick and the resume would fail on."""
    root = pathlib.Path(output_dir)
    steps = sorted((int(path.name.rsplit("-", 1)[1]), path) for path in root.glob(f"{PREFIX_CHECKPOINT_DIR}-*[0-9]"))
    for _, path in reversed(steps):
        states = [json.loads(state.read_text()) for state in path.glob("train_stream-rank*.json")]
        if (path / "trainer_state.json").is_file() and states and len(states) == states[0]["world_size"]:
            return str(path)
    return None


def stream_state_path(checkpoint: str | pathlib.Path, rank: int) -> pathlib.Path:
    return pathlib.Path(checkpoint, f"train_stream-rank{rank}.json")


def write_atomically(path: pathlib.Path, content: dict[str, object]) -> None:
    """Whole or absent: a run killed mid-write leaves no half file that a resume would trust."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(content), encoding="utf-8")
    partial.replace(path)


def stop_now(status: int, line: str = "") -> NoReturn:
    """Leave at once with `status` and one line on stderr, without the interpreter's exit: its finalizers join
    native threads (gloo's, the DataLoader's, pyarrow's) that may be blocked, which hangs or aborts the process
    ("terminate called without an active exception") instead of letting it fail plainly."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.write(f"{line}\n" if line else "")
        sys.stderr.flush()
    os._exit(status)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo-id", default="org/fashion_mnist", help="the dataset repo on the Hub (HF_ENDPOINT)")
    parser.add_argument("--config", choices=CONFIGS, default=CONFIGS[0], help="PNG images, or decode-free pixels")
    parser.add_argument("--max-steps", type=int, default=300, help="training steps (the stream runs epoch on epoch)")
    parser.add_argument("--output-dir", default="runs/train_trainer", help="where the Trainer writes its checkpoints")
    parser.add_argument("--batch-size", type=int, default=64, help="per rank")
    parser.add_argument("--seed", type=int, default=0, help="the model's and the shuffle's")
    parser.add_argument("--train-split", default="train", help="the split to train on (test: a quick trial run)")
    parser.add_argument(
        "--shuffle-window", type=int, default=SHUFFLE_WINDOW, help="row groups whose examples are shuffled together "
        "(of 1,000 examples; the row groups are shuffled too); 0: no shuffling"
    )  # fmt: skip
    parser.add_argument("--save-steps", type=int, default=100, help="checkpoint every N steps; 0: no checkpoints")
    parser.add_argument("--save-total-limit", type=int, default=2, help="checkpoints kept (the oldest are deleted)")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --output-dir")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes per rank")
    parser.add_argument(
        "--stall-seconds", type=float, default=STALL_SECONDS,
        help="stop (exit status 1) when no step, save or prediction has come for this long",
    )  # fmt: skip
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=int(os.environ.get("OMP_NUM_THREADS", "1")),
        help="torch's threads per process (default: OMP_NUM_THREADS, else 1)",
    )
    parser.add_argument(
        "--predict", action=argparse.BooleanOptionalAction, default=True, help="predict the test split after training"
    )
    return parser.parse_args(argv)


def make_trainer(
    args: argparse.Namespace,
    train_dataset: torch.utils.data.Dataset | datasets.IterableDataset | None = None,
    callbacks: Sequence[transformers.TrainerCallback] = (),
) -> StreamTrainer:
    """The Trainer of a TinyCnn for `args` (see `parse_args`), on the exact stream unless given another dataset."""
    # The model's ops are small: with 2 threads on 2 cores each op's fork and join costs more than it saves, and the
    # threads compete with the stream's decoding in the same process. Measured on 2 cores (others busy): 34 steps/s
    # with 1 thread, 5.5 with 2. torchrun sets OMP_NUM_THREADS=1 per rank for the same reason.
    torch.set_num_threads(args.torch_threads)
    transformers.set_seed(args.seed)
    training = transformers.TrainingArguments(
        output_dir=args.output_dir,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=1000,
        learning_rate=2e-3,
        logging_steps=50,
        save_strategy="steps" if args.save_steps else "no",
        save_steps=args.save_steps or 500,
        save_total_limit=args.save_total_limit,
        report_to="none",
        dataloader_pin_memory=False,  # pinning is for copies to a GPU
        dataloader_num_workers=args.workers,
        use_cpu=True,  # under torchrun or `accelerate launch`: DDP over gloo
        seed=args.seed,
        disable_tqdm=True,
        # A rank waits this long in a collective for a peer that is gone (the default: 30 minutes).
        ddp_timeout=int(args.stall_seconds),
    )
    if train_dataset is None:
        train_dataset = ExactStream(
            args.repo_id, args.train_split, args.config, seed=args.seed, window=args.shuffle_window,
            batch_size=args.batch_size, rank=training.process_index, world_size=training.world_size,
            revision=saved_revision(args, training.process_index),
        )  # fmt: skip
    callbacks = list(callbacks)
    if isinstance(train_dataset, ExactStream):
        callbacks.append(StreamStateCallback(train_dataset))
    return StreamTrainer(model=TinyCnn(), args=training, train_dataset=train_dataset, callbacks=callbacks)


def saved_revision(args: argparse.Namespace, rank: int) -> str | None:
    """On `--resume`, the commit the checkpoint's stream read: the order depends on the files, so a push since then
    must not change them under the resumed run. None (the latest) for a fresh run."""
    checkpoint = last_complete_checkpoint(args.output_dir) if args.resume and os.path.isdir(args.output_dir) else None
    saved = stream_state_path(checkpoint, rank) if checkpoint else None
    return json.loads(saved.read_text()).get("revision") if saved and saved.is_file() else None


def main(argv: Sequence[str] | None = None, callbacks: Sequence[transformers.TrainerCallback] = ()) -> dict[str, float]:
    """Train (resuming if asked), then predict the whole test split; return (and print) steps, loss, accuracy and
    timings. `callbacks` go to the Trainer (a test records what each rank trained on through one)."""
    args = parse_args(argv)
    guard = RunGuard(args.output_dir, args.stall_seconds)
    guard.watch(int(os.environ.get("RANK", "0")))
    trainer = make_trainer(args, callbacks=[guard, *callbacks])
    try:
        guard.claim(trainer.is_world_process_zero())
        return train_and_predict(args, trainer, guard)
    finally:
        guard.stopped.set()  # the watchdog watches this run only (a test may run several in one process)


def train_and_predict(args: argparse.Namespace, trainer: StreamTrainer, guard: RunGuard) -> dict[str, float]:
    checkpoint = last_complete_checkpoint(args.output_dir) if args.resume and os.path.isdir(args.output_dir) else None
    started = time.perf_counter()
    outcome = trainer.train(resume_from_checkpoint=checkpoint)
    trained = time.perf_counter()
    metrics = {
        "steps": float(outcome.global_step),
        "resumed_from_step": float(checkpoint.rsplit("-", 1)[-1]) if checkpoint else 0.0,
        "train_loss": float(outcome.training_loss),
        "train_seconds": trained - started,
    }
    if args.predict:
        guard.alive("predicting")
        prediction = trainer.predict(stream(args.repo_id, "test", args.config))
        metrics |= {
            "test_examples": float(len(prediction.label_ids)),
            "test_accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean()),
            "test_seconds": time.perf_counter() - trained,
        }
    if trainer.is_world_process_zero():
        print(" ".join(f"{name}={value:.4g}" for name, value in metrics.items()))
    if torch.distributed.is_initialized():
        # Every rank gets here only when all have finished: the barrier keeps one from leaving while a peer still
        # needs it (bounded by ddp_timeout, and the watchdog), then the group goes while all are alive.
        guard.alive("leaving")
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return metrics


def cli(argv: Sequence[str] | None = None, callbacks: Sequence[transformers.TrainerCallback] = ()) -> NoReturn:
    """Run `main`, then leave through `stop_now`: status 0, or 1 with the error in one line (the traceback above
    it), never a hang or an abort in the interpreter's exit; a scheduler retrying on failure sees a plain failure."""
    try:
        main(argv, callbacks)
    except BaseException as error:  # noqa: BLE001 - reported, then the process leaves with status 1
        traceback.print_exc()
        rank = os.environ.get("RANK", "0")
        stop_now(1, f"rank {rank}: stopped: {type(error).__name__}: {' '.join(str(error).split())[:500]}")
    stop_now(0)


if __name__ == "__main__":
    cli()
