"""examples/train_trainer.py run as users run it, on 1 and 2 ranks, killed with SIGKILL and resumed.

Every run is a subprocess (`python -m`, `torchrun`, `accelerate launch`) of
`tests.helpers.trainer_rank`, which runs the example unchanged and records, per rank and per
step, the `(label, pixel digest)` of each example trained on (see that module). A scenario
runs the example uninterrupted for two epochs, then again killed at several points and
resumed each time: every step any run trained must be, example for example and in order,
the uninterrupted run's step, and the steps kept (up to each resume's checkpoint, then the
last run's) must be every step once, each epoch every example of the split once. Timings
are printed, never asserted (the benchmark's `trainer` section measures them).

Sizes: the test split (`--train-split test`, 16 row groups of 625): 157 steps of 64 an epoch
on one process (the last 16), 79 on each of 2 ranks (the last 8); a shuffle window of 2 row
groups, so an epoch crosses windows as the train split's does.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import fashion_mnist
from local_hub import FaultKind, Faults
from scripts import layout
from tests.conftest import HUB_REPO
from tests.helpers import archives

SPLIT_SIZES = {"train": 60_000, "test": 10_000}
BATCH = 64
RUN_TIMEOUT = 300  # seconds for one training run (both ranks)
WINDOW = 2  # row groups shuffled together (1,250 examples of the test split)
WINDOW_ROWS = WINDOW * 625
EPOCHS = 2
STOP_SECONDS = 15  # a rank whose launcher is gone stops within this (it looks every second)

Example = tuple[int, str]  # (label, pixel digest)


# --- Running the example ------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """What one launch of the example left: per rank, its records (see tests.helpers.trainer_rank)."""

    launched: float  # time.time() just before the launch
    returncode: int
    records: dict[int, list[dict]]
    output: str

    def steps(self, rank: int) -> list[dict]:
        return [record for record in self.records[rank] if "examples" in record]

    def examples(self, rank: int | None = None, *, first: int = 1, last: int = math.inf) -> collections.Counter:
        """Multiset of the examples trained at steps `first`..`last` on `rank` (every rank when None)."""
        ranks = self.records if rank is None else [rank]
        return collections.Counter(
            tuple(example)
            for each in ranks
            for record in self.steps(each)
            if first <= record["step"] <= last
            for example in record["examples"]
        )

    def loader(self, rank: int) -> dict:
        return next(record for record in self.records[rank] if record.get("event") == "loader")

    def pids(self) -> list[int]:
        return [records[0]["pid"] for records in self.records.values()]

    def seconds_to_first_step(self) -> float:
        """From the launch to the first step's forward, on the slowest rank."""
        return max(self.steps(rank)[0]["time"] for rank in self.records) - self.launched


def read_records(record_dir: pathlib.Path) -> dict[int, list[dict]]:
    records = {}
    for path in sorted(record_dir.glob("rank*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        # A SIGKILL can cut the last line short: the steps before it were written whole.
        records[int(path.stem.removeprefix("rank"))] = [json.loads(line) for line in lines if line.endswith("}")]
    return records


def launcher(name: str, num_ranks: int) -> list[str]:
    """The command that starts `tests.helpers.trainer_rank` on `num_ranks` ranks, as a user would launch the example."""
    module = ["-m", "tests.helpers.trainer_rank"]
    if name == "python":
        return [sys.executable, *module]
    if name == "torchrun":
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={num_ranks}", *module]
    if name == "accelerate":
        # `--cpu` would start one process (accelerate's multi-CPU launch wants mpirun); `--multi_gpu` goes through
        # torchrun, and the example's `use_cpu` keeps the ranks on the CPU with gloo.
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", f"--num_processes={num_ranks}"]
        return [*launch, "--num_machines=1", "--mixed_precision=no", "--dynamo_backend=no", *module]
    raise ValueError(name)


def run_example(
    record_dir: pathlib.Path,
    arguments: list[str],
    *,
    launch: str = "python",
    num_ranks: int = 1,
    kill_after: int = 0,
    launcher_only: bool = False,
) -> Run:
    """Run the example to its end, or SIGKILL every process of the run (launcher and ranks) as soon as a rank has
    begun step `kill_after`: a machine lost mid-epoch. `launcher_only`: SIGKILL the launcher alone, as a user
    stopping `torchrun` by hand might, and wait (bounded) for the ranks to stop by themselves."""
    command = [*launcher(launch, num_ranks), str(record_dir), *arguments]
    log = record_dir.with_suffix(".log")
    launched = time.time()
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=layout.PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + RUN_TIMEOUT
        try:
            while process.poll() is None and time.monotonic() < deadline:
                if kill_after and record_dir.is_dir() and reached(record_dir, kill_after):
                    if launcher_only:
                        process.kill()
                        wait_for_ranks_to_stop(record_dir)
                    kill_run(process, record_dir)
                    break
                time.sleep(0.02)
            returncode = process.wait(max(1.0, deadline - time.monotonic()))
        finally:
            if process.poll() is None:  # out of time: the launcher waits on a hung rank, or on itself
                kill_run(process, record_dir)
                process.wait()
    return Run(launched, returncode, read_records(record_dir), log.read_text(errors="replace"))


def kill_run(process: subprocess.Popen, record_dir: pathlib.Path) -> None:
    """SIGKILL the ranks, then the launcher's process group: torchrun starts its workers in sessions of their own,
    so killing the launcher alone leaves them training."""
    for records in read_records(record_dir).values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(records[0]["pid"], signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_for_ranks_to_stop(record_dir: pathlib.Path) -> None:
    """Until every rank of the run has exited, at most STOP_SECONDS (the caller kills what is left)."""
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline and any(
        is_running(records[0]["pid"]) for records in read_records(record_dir).values()
    ):
        time.sleep(0.1)


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not pathlib.Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")


def reached(record_dir: pathlib.Path, step: int) -> bool:
    for path in record_dir.glob("rank*.jsonl"):
        lines = path.read_text(encoding="utf-8").splitlines()
        if lines and lines[-1].endswith("}") and json.loads(lines[-1]).get("step", 0) >= step:
            return True
    return False


def last_checkpoint_step(output_dir: pathlib.Path) -> int:
    """The step of the checkpoint `--resume` continues from (the example's own choice: the last complete one)."""
    from examples import train_trainer  # imports transformers: only where the example runs, not at collection

    return int(train_trainer.last_complete_checkpoint(str(output_dir)).rsplit("-", 1)[-1])


# --- Expectations -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def split_examples(real_archives: pathlib.Path) -> dict[str, collections.Counter]:
    """split -> the split as a multiset of (label, pixel digest), straight from the archives."""
    return {split: archives.split_examples(real_archives, split) for split in SPLIT_SIZES}


def epoch_steps(split: str, num_ranks: int) -> int:
    """Steps in one epoch: each rank streams an equal share of the split's row groups; the last batch is partial."""
    return math.ceil(SPLIT_SIZES[split] / num_ranks / BATCH)


# --- Killed at several points, resumed each time ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A launch, a config and where to kill: at steps (per rank) mid-epoch 1, just after a checkpoint, mid-epoch 2."""

    name: str
    launch: str
    num_ranks: int
    config: str
    save_steps: int
    kills: tuple[int, ...]
    launcher_only: tuple[bool, ...] = ()  # per kill: SIGKILL the launcher alone (the ranks must stop by themselves)


SCENARIOS = [
    # 157 steps an epoch: kills at 70 (checkpoint 40), 121 (just after 120), 230 (epoch 2; checkpoint 200).
    Scenario("1-rank-png", "python", 1, fashion_mnist.NAME, 40, (70, 121, 230)),
    # 79 steps an epoch on each rank: kills at 35 (checkpoint 20), 61 (just after 60), 130 (epoch 2; checkpoint 120).
    Scenario("2-ranks-pixels", "torchrun", 2, fashion_mnist.PIXELS, 20, (35, 61, 130), (False, True, False)),
]
COMPAT_SCENARIOS = [
    Scenario("1-rank-pixels", "python", 1, fashion_mnist.PIXELS, 40, (70, 121, 230)),
    Scenario("2-ranks-png-accelerate", "accelerate", 2, fashion_mnist.NAME, 20, (35, 61, 130)),
]


def scenario_arguments(scenario: Scenario, output_dir: pathlib.Path) -> list[str]:
    steps = EPOCHS * epoch_steps("test", scenario.num_ranks)
    arguments = ["--repo-id", HUB_REPO, "--config", scenario.config, "--train-split", "test", "--no-predict"]
    arguments += ["--max-steps", str(steps), "--save-steps", str(scenario.save_steps), "--save-total-limit", "3"]
    return [*arguments, "--shuffle-window", str(WINDOW), "--output-dir", str(output_dir), "--stall-seconds", "120"]


def uninterrupted(scenario: Scenario, work: pathlib.Path) -> Run:
    run = run_example(
        work / "reference", scenario_arguments(scenario, work / "reference-out"), launch=scenario.launch,
        num_ranks=scenario.num_ranks,
    )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    return run


def assert_same_steps(run: Run, reference: Run) -> None:
    """Every step `run` trained is the reference's step of the same number, example for example, in order."""
    for rank in reference.records:
        expected = {record["step"]: record["examples"] for record in reference.steps(rank)}
        for record in run.steps(rank):
            assert record["examples"] == expected[record["step"]], f"rank {rank}, step {record['step']} differs"


def assert_every_example_once_per_epoch(
    kept: list[tuple[Run, int, int]], num_ranks: int, split: collections.Counter
) -> None:
    """Over the steps kept (each run's, from its first to the checkpoint the next one resumed from), each epoch trains
    every example of the split once: 0 missing, 0 repeated."""
    per_epoch = epoch_steps("test", num_ranks)
    trained = [step for run, first, last in kept for rank in run.records for step in run.steps(rank)
               if first <= step["step"] <= last]  # fmt: skip
    assert sorted({step["step"] for step in trained}) == list(range(1, EPOCHS * per_epoch + 1))
    assert len(trained) == EPOCHS * per_epoch * num_ranks  # no step kept twice
    for epoch in range(EPOCHS):
        examples = collections.Counter(
            tuple(example)
            for step in trained
            if epoch * per_epoch < step["step"] <= (epoch + 1) * per_epoch
            for example in step["examples"]
        )
        assert examples == split, f"epoch {epoch + 1}: {sum((split - examples).values())} missing, " \
            f"{sum((examples - split).values())} repeated"  # fmt: skip


def kill_and_resume_chain(
    scenario: Scenario, work: pathlib.Path, reference: Run, split: collections.Counter, *, hub: object = None
) -> list[dict]:
    """Launch, kill at each of the scenario's steps, resume after each; compare with the reference. Returns what each
    resume cost (printed by the caller). `hub`: the local Hub, whose front resets one read in the last resume."""

    output_dir = work / "out"
    arguments = scenario_arguments(scenario, output_dir)
    kept: list[tuple[Run, int, int]] = []
    costs = []
    first = 1
    for number, kill_after in enumerate((*scenario.kills, 0)):
        resume = ["--resume"] if number else []
        launcher_only = number < len(scenario.launcher_only) and scenario.launcher_only[number]
        faulty = hub is not None and kill_after == 0
        with hub.front.failing(Faults(FaultKind.RESET, first=3)) if faulty else contextlib.nullcontext():
            run = run_example(
                work / f"run{number}", [*arguments, *resume], launch=scenario.launch, num_ranks=scenario.num_ranks,
                kill_after=kill_after, launcher_only=launcher_only,
            )  # fmt: skip
            if faulty:
                assert hub.front.faults_served >= 1
        assert_same_steps(run, reference)
        for rank in run.records:
            assert run.steps(rank)[0]["step"] == first, f"run {number}, rank {rank} did not start at step {first}"
            loader = run.loader(rank)
            assert (loader["loader"], loader["stream"], loader["start_batch"]) == (
                "DataLoader",
                "ExactStream",
                first - 1,
            )
            # Read before the first step: the window(s) its batch lies in, never the epoch up to the checkpoint.
            assert run.steps(rank)[0]["read"] <= 2 * WINDOW_ROWS
        if kill_after == 0:
            assert run.returncode == 0, run.output[-3000:]
            kept.append((run, first, math.inf))
            break
        if launcher_only:
            assert "launcher" in run.output and "is gone; stopping" in run.output, run.output[-3000:]
            assert not any(is_running(pid) for pid in run.pids()), "a rank outlived its launcher"
        else:
            assert run.returncode == -signal.SIGKILL, run.output[-3000:]
        checkpoint = last_checkpoint_step(output_dir)
        assert first - 1 <= checkpoint < kill_after
        assert checkpoint >= scenario.save_steps * (kill_after // scenario.save_steps) - scenario.save_steps
        kept.append((run, first, checkpoint))
        costs.append({"killed_at": kill_after, "checkpoint": checkpoint})
        first = checkpoint + 1
    assert_every_example_once_per_epoch(kept, scenario.num_ranks, split)
    return costs


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_killed_then_resumed_trains_exactly_the_uninterrupted_batches(
    local_hub: object,
    hub_endpoint: str,
    tmp_path: pathlib.Path,
    split_examples: dict[str, collections.Counter],
    scenario: Scenario,
) -> None:
    """SIGKILL mid-epoch 1, just after a checkpoint, and mid-epoch 2 (on 2 ranks, the second kill hits the torchrun
    launcher alone: its ranks must stop by themselves), `--resume` after each, the last resume through a Hub that
    resets one read: every step is the uninterrupted run's, each epoch the split once."""
    reference = uninterrupted(scenario, tmp_path)
    assert_every_example_once_per_epoch([(reference, 1, math.inf)], scenario.num_ranks, split_examples["test"])
    costs = kill_and_resume_chain(scenario, tmp_path, reference, split_examples["test"], hub=local_hub)
    print(f"{scenario.name}: exact after {costs}")


@pytest.mark.compat
@pytest.mark.parametrize("scenario", COMPAT_SCENARIOS, ids=[scenario.name for scenario in COMPAT_SCENARIOS])
def test_the_other_configs_and_launchers_resume_exactly(
    hub_endpoint: str, tmp_path: pathlib.Path, split_examples: dict[str, collections.Counter], scenario: Scenario
) -> None:
    reference = uninterrupted(scenario, tmp_path)
    kill_and_resume_chain(scenario, tmp_path, reference, split_examples["test"])


@pytest.mark.compat
def test_twenty_kill_resume_cycles_none_hangs(
    hub_endpoint: str, tmp_path: pathlib.Path, split_examples: dict[str, collections.Counter]
) -> None:
    """A soak: killed 20 times at steps spread over two epochs (some just after a checkpoint), resumed each time."""
    kills = tuple(range(13, 2 * epoch_steps("test", 1), 15))[:20]
    scenario = Scenario("soak", "python", 1, fashion_mnist.PIXELS, 10, kills)
    reference = uninterrupted(scenario, tmp_path)
    costs = kill_and_resume_chain(scenario, tmp_path, reference, split_examples["test"])
    assert len(costs) == len(kills) == 20


# --- Failures end the run plainly ---------------------------------------------------------


def test_a_dead_hub_ends_both_ranks_with_status_1_and_the_error(
    local_hub: object, hub_endpoint: str, tmp_path: pathlib.Path
) -> None:
    """The Hub answers 503 to every read from the 40th on: the run exits 1 with the reason in one line, in bounded
    time, and no rank aborts on its way out."""

    scenario = SCENARIOS[1]
    with local_hub.front.failing(Faults(FaultKind.UNAVAILABLE, first=40, count=None)):
        run = run_example(tmp_path / "records", scenario_arguments(scenario, tmp_path / "out"), launch="torchrun",
                          num_ranks=2)  # fmt: skip
    ended = max(pathlib.Path(tmp_path / "records.log").stat().st_mtime, run.launched) - run.launched
    print(f"dead Hub: exit {run.returncode} after {ended:.0f} s")
    assert run.returncode == 1, run.output[-3000:]
    assert "stopped: OSError: reading hf://datasets/" in run.output and "503" in run.output
    assert "terminate called" not in run.output and "Aborted" not in run.output


def test_a_run_stops_before_writing_into_an_output_dir_taken_over(tmp_path: pathlib.Path) -> None:
    """The ownership check a stray rank of an old run makes before each checkpoint, on the real callback."""
    import transformers

    from examples import train_trainer

    old, new = (train_trainer.RunGuard(str(tmp_path), 60.0) for _ in range(2))
    old.claim(is_main=True)
    new.claim(is_main=True)  # the relaunched run takes the directory over
    args = transformers.TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    control, state = transformers.TrainerControl(should_save=True), transformers.TrainerState(global_step=400)
    new.on_step_end(args, state, control)  # its own: it saves
    with pytest.raises(RuntimeError, match=r"took .* over; this run stops before writing checkpoint 400"):
        old.on_step_end(args, state, control)


# --- The stream alone -----------------------------------------------------------------------


def test_the_stream_is_the_same_from_any_batch_and_with_workers(
    real_repo: pathlib.Path, split_examples: dict[str, collections.Counter]
) -> None:
    """Two DataLoader workers make the same batches in the same order as none, across an epoch's end; a stream
    started at batch 100 gives batches 100 on of the same sequence; each epoch is the split once, shuffled anew."""
    import torch

    from examples import train_trainer

    def batches(start: int, workers: int, count: int) -> list[list[tuple[int, str]]]:
        stream = train_trainer.ExactStream(
            str(real_repo), "test", fashion_mnist.PIXELS, seed=3, window=WINDOW, batch_size=BATCH
        )
        stream.start_batch = start
        loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers)
        taken = []
        for batch in loader:
            taken.append(archives.model_input_examples(batch["pixel_values"], batch["labels"]))
            if len(taken) == count:
                return taken
        raise AssertionError("the stream ended")

    per_epoch = epoch_steps("test", 1)
    alone = batches(0, 0, 2 * per_epoch)
    assert batches(0, 2, 2 * per_epoch) == alone
    assert batches(100, 0, 80) == alone[100:180]
    epochs = [collections.Counter(tuple(e) for batch in alone[i * per_epoch : (i + 1) * per_epoch] for e in batch)
              for i in range(2)]  # fmt: skip
    assert epochs[0] == epochs[1] == split_examples["test"]
    assert [len(batch) for batch in alone[per_epoch - 1 : per_epoch + 1]] == [SPLIT_SIZES["test"] % BATCH, BATCH]
    assert alone[:per_epoch] != alone[per_epoch:]  # shuffled anew
