"""Train a tiny CNN on Fashion-MNIST streamed from the Hub with the `transformers` Trainer, then test it.

    python examples/train_trainer.py --repo-id org/fashion_mnist --max-steps 300 --output-dir runs/cnn
    python examples/train_trainer.py --config pixels ...   # the decode-free config: no PNG decoding
    python examples/train_trainer.py --output-dir runs/cnn --resume   # after a crash: from the last checkpoint
    torchrun --nproc-per-node 2 examples/train_trainer.py ...           # 2 ranks (CPU: DDP over gloo)
    accelerate launch --multi_gpu --num_processes 2 examples/train_trainer.py ...   # the same, through torchrun

The train split is streamed, never downloaded whole, and shuffled through a buffer; a
stream has no length, so the Trainer is told `max_steps`. A CPU is enough: a few hundred
steps of 64 images reach well over 70% test accuracy in under a minute on two cores.
Both configs give the model the same inputs: `pixel_values` float32 `[N, 1, 28, 28]` in
0..1 and `labels`.

Checkpoints are written every `--save-steps`; `--resume` continues from the last one. By
default the resumed run re-reads the stream up to the checkpoint and drops those batches
(exact: the seeded stream comes back in the same order; the cost grows with the position in
the epoch, about a second per 10,000 PNG examples on 2 cores). `--stateful-dataloader`
(torchdata) restarts the stream where the checkpoint left it instead, at once; but the
`datasets` 5.2 stream state leaves out the shuffle buffer, so for the rest of that epoch some
examples are skipped and some trained twice (each fewer than the buffer's size; none without
shuffling, `--shuffle-buffer 0`). Exactness is the default, speed the flag.

On several ranks each rank streams its own files (see `accelerator_config` in `make_trainer`).
On a CPU, `accelerate launch --num_processes 2 --cpu` (accelerate 1.16) starts ONE process
(its multi-CPU launch needs `--mpirun_hostfile`); `--multi_gpu` launches through torchrun, and
`use_cpu` keeps the ranks on the CPU, over gloo.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time
from collections.abc import Sequence

import datasets
import numpy as np
import torch
import transformers
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

NUM_LABELS = 10
SHUFFLE_BUFFER = 10_000  # a sixth of the train split: good mixing, little memory
CONFIGS = ("fashion_mnist", "pixels")


def images_to_model_inputs(batch: dict[str, list]) -> dict[str, np.ndarray]:
    """PIL images -> float `pixel_values` [N, 1, 28, 28] in 0..1; `label` -> `labels`, as the Trainer expects."""
    pixels = np.stack([np.asarray(image, dtype=np.float32) for image in batch["image"]]) / 255.0
    return {"pixel_values": pixels[:, None], "labels": np.asarray(batch["label"], dtype=np.int64)}


def pixels_to_model_inputs(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw pixels `[N, 784]` (a numpy batch) -> the same `pixel_values` and `labels`: a reshape, no decoding."""
    pixels = batch["pixels"].reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    return {"pixel_values": pixels, "labels": batch["label"].astype(np.int64)}


def stream(
    repo_id: str, split: str, config: str, *, shuffle_seed: int | None = None, buffer: int = SHUFFLE_BUFFER
) -> datasets.IterableDataset:
    """The split as a stream of model inputs, shuffled through a buffer of `buffer` examples when a seed is given."""
    examples = datasets.load_dataset(repo_id, config, split=split, streaming=True)
    if shuffle_seed is not None:
        # One input shard at a time feeds the buffer: with several, `datasets` 5.2 interleaves them
        # through a source that pauses 5 s whenever its iterator closes (every epoch, every worker).
        examples = examples.shuffle(seed=shuffle_seed, buffer_size=buffer, max_buffer_input_shards=1)
    return as_model_inputs(examples, config)


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
    """The Trainer, plus: each checkpoint keeps every rank's position in the train stream, and a resumed run starts
    from it (when the stateful data loader is on) instead of re-reading and dropping the batches already trained.

    The Trainer saves the model, optimizer and RNG states in a checkpoint, but not where its data loader was; on
    resume it skips `global_step` batches by reading them again (accelerate's `skip_first_batches`). That is exact for
    a seeded stream (the same files in the same order) and costs one read of the epoch so far. With torchdata's
    `StatefulDataLoader` the loader's `state_dict()` holds the `datasets` stream's own state (file and row reached), and
    loading it restarts there without reading anything again; but the stream's state leaves out the shuffle buffer
    (and `datasets` keeps its position per shuffled Arrow table), so in that epoch some examples are never trained on
    and some twice, each count within the buffer's size.
    """

    def __init__(self, *args: object, stateful_dataloader: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # transformers 5.2x no longer takes `use_stateful_dataloader` in `accelerator_config` (its AcceleratorConfig
        # refuses the key), while accelerate still honours it in the Accelerator's data loader configuration.
        self.accelerator.dataloader_config.use_stateful_dataloader = stateful_dataloader
        self.stateful_dataloader = stateful_dataloader
        self.resumed_from: str | None = None
        if stateful_dataloader:
            self.add_callback(LoaderStateCallback())

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs: object) -> transformers.TrainOutput:
        if resume_from_checkpoint is True:
            resume_from_checkpoint = get_last_checkpoint(self.args.output_dir)
        self.resumed_from = resume_from_checkpoint or None
        return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)

    def get_resumed_dataloader(self, dataloader: torch.utils.data.DataLoader, num_batches: int) -> object:
        """Restore the stream position saved with the checkpoint; without one (or without the stateful loader, or
        when the run was killed between the checkpoint and its loader state), skip `num_batches` by reading them."""
        saved = loader_state_path(self.resumed_from, self.args.process_index) if self.resumed_from else None
        if self.stateful_dataloader and saved is not None and saved.is_file():
            dataloader.load_state_dict(torch.load(saved, weights_only=True))
            return dataloader
        skipping = super().get_resumed_dataloader(dataloader, num_batches)  # a plain DataLoader, whatever was asked
        # The callbacks save the state of the loader they are given: not the stateful one, left unread this epoch.
        self.callback_handler.train_dataloader = skipping
        return skipping


class LoaderStateCallback(transformers.TrainerCallback):
    """Write this rank's train-loader state into each checkpoint as it is saved (every rank writes its own file)."""

    def on_save(
        self,
        args: transformers.TrainingArguments,
        state: transformers.TrainerState,
        control: transformers.TrainerControl,
        train_dataloader: object = None,
        **kwargs: object,
    ) -> None:
        if not hasattr(getattr(train_dataloader, "base_dataloader", None), "state_dict"):  # not a StatefulDataLoader
            return  # (a resume that skipped batches: its checkpoints have no loader state, and resume by skipping)
        checkpoint = pathlib.Path(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        checkpoint.mkdir(parents=True, exist_ok=True)
        path = loader_state_path(checkpoint, args.process_index)
        partial = path.with_suffix(".partial")
        torch.save(train_dataloader.state_dict(), partial)
        partial.replace(path)  # a run killed mid-write leaves no half file that a resume would trust


def loader_state_path(checkpoint: str | pathlib.Path, rank: int) -> pathlib.Path:
    return pathlib.Path(checkpoint, f"train_loader_state-rank{rank}.pt")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo-id", default="org/fashion_mnist", help="the dataset repo on the Hub (HF_ENDPOINT)")
    parser.add_argument("--config", choices=CONFIGS, default=CONFIGS[0], help="PNG images, or decode-free pixels")
    parser.add_argument("--max-steps", type=int, default=300, help="training steps (a stream has no epochs)")
    parser.add_argument("--output-dir", default="runs/train_trainer", help="where the Trainer writes its checkpoints")
    parser.add_argument("--batch-size", type=int, default=64, help="per rank")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-split", default="train", help="the split to train on (test: a quick trial run)")
    parser.add_argument(
        "--shuffle-buffer", type=int, default=SHUFFLE_BUFFER, help="examples in the shuffle buffer; 0: no shuffling"
    )
    parser.add_argument("--save-steps", type=int, default=100, help="checkpoint every N steps; 0: no checkpoints")
    parser.add_argument("--save-total-limit", type=int, default=2, help="checkpoints kept (the oldest are deleted)")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --output-dir")
    parser.add_argument(
        "--stateful-dataloader",
        action="store_true",
        help="resume at the saved stream position (torchdata) instead of re-reading the batches already trained; "
        "but with a shuffle buffer some examples of that epoch are skipped and some trained twice",
    )
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
    """The Trainer of a TinyCnn for `args` (see `parse_args`), on the train stream unless given another dataset."""
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
        use_cpu=True,  # under torchrun or `accelerate launch`: DDP over gloo
        seed=args.seed,
        disable_tqdm=True,
        accelerator_config={
            # accelerate's default for an IterableDataset on several ranks is to have rank 0 read every batch and
            # send each rank its part: one process decodes for all. Off, accelerate gives each rank its own whole
            # files of the stream (`IterableDataset.shard`, 16 files: 8 each on 2 ranks), read once across ranks.
            "dispatch_batches": False,
        },
    )
    if train_dataset is None:
        seed, buffer = (args.seed if args.shuffle_buffer else None), args.shuffle_buffer
        train_dataset = stream(args.repo_id, args.train_split, args.config, shuffle_seed=seed, buffer=buffer)
    return StreamTrainer(
        model=TinyCnn(),
        args=training,
        train_dataset=train_dataset,
        callbacks=list(callbacks),
        stateful_dataloader=args.stateful_dataloader,
    )


def main(argv: Sequence[str] | None = None, callbacks: Sequence[transformers.TrainerCallback] = ()) -> dict[str, float]:
    """Train (resuming if asked), then predict the whole test split; return (and print) steps, loss, accuracy and
    timings. `callbacks` go to the Trainer (a test records what each rank trained on through one)."""
    args = parse_args(argv)
    trainer = make_trainer(args, callbacks=callbacks)
    checkpoint = get_last_checkpoint(args.output_dir) if args.resume and os.path.isdir(args.output_dir) else None
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
        prediction = trainer.predict(stream(args.repo_id, "test", args.config))
        metrics |= {
            "test_examples": float(len(prediction.label_ids)),
            "test_accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean()),
            "test_seconds": time.perf_counter() - trained,
        }
    if trainer.is_world_process_zero():
        print(" ".join(f"{name}={value:.4g}" for name, value in metrics.items()))
    if torch.distributed.is_initialized():
        # Under torchrun the Trainer leaves the process group up. Left to the interpreter's exit, a rank was seen to
        # abort ("terminate called without an active exception") or hang: the group's destructor, holding the GIL,
        # joins gloo's thread while that thread waits for the GIL to free the last step's gather. The barrier waits
        # (GIL released) until gloo's thread is idle; then the group can go.
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return metrics


if __name__ == "__main__":
    main()
