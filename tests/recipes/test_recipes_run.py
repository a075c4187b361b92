"""Every recipe file (a ```python block of the card) runs as shown against the local Hub and gives what it says.

The files are those of `recipes/` (whatever they are today: none is listed here; the card
includes each verbatim, `tests/scripts/test_card.py` checks that), and each runs in its own
process with `tests/helpers/recipe_runner.py`, in an environment holding the card's tools
(`compat_envs.TOOLS` layered on the project's; a recipe using a client of `compat_envs.CLIENTS`
runs in that client's environment), with HF_ENDPOINT naming the local Hub, which
serves the real build as `org/fashion_mnist`, the repo id the files name, and a fresh HF_HOME.
The runner summarises what each block bound; the checks here hold for any block: a
length or first dimension is a split's or a shard's size, a per-label count is the
same for every label, a `DataLoader` gives batches of images and labels.

Marked `compat` (it installs Dask, Spark, JAX and Ray): `make compat` runs it.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

import fashion_mnist
from local_hub import LocalHub
from scripts import card, layout
from tests.conftest import HUB_REPO
from tests.helpers import compat_envs

pytestmark = pytest.mark.compat

RUNNER = pathlib.Path(__file__).parents[1] / "helpers" / "recipe_runner.py"
BLOCK_TIMEOUT = 600  # seconds; Spark's start is the slowest
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
# Both splits, each, together, and one shard of each (the files cut a split evenly).
SIZES = {*SPLIT_SIZES.values(), sum(SPLIT_SIZES.values())} | {
    size // fashion_mnist.NUM_SHARDS[split] for split, size in SPLIT_SIZES.items()
}
BATCH = 256  # the card's batch size: a loop's last batch (or its indices) holds at most this many rows
NUM_LABELS = len(fashion_mnist.LABEL_NAMES)


# A recipe importing one of these packages (or calling `to_tf_dataset`, which imports TensorFlow itself) runs in
# that client's environment; every other one in the tools' environment.
CLIENT_ENVIRONMENTS = {
    "tensorflow": "tensorflow", "to_tf_dataset": "tensorflow",
    "timm": "vision", "transformers": "vision", "torchvision": "vision",
}  # fmt: skip


def environment_of(recipe: pathlib.Path) -> str:
    """The compat environment `recipe` needs, from the top-level packages it imports and the methods it calls."""
    used = set()
    for node in ast.walk(ast.parse(recipe.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            used |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            used.add(node.module.split(".")[0])
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
    needed = {CLIENT_ENVIRONMENTS[name] for name in used & CLIENT_ENVIRONMENTS.keys()}
    assert len(needed) <= 1, f"{recipe.name} uses clients of several environments: {sorted(needed)}"
    return needed.pop() if needed else "tools"


def python_of(environment: str) -> pathlib.Path:
    """Made (or found in the cache) on first use."""
    if environment == "tools":
        return compat_envs.ensure_env("tools", compat_envs.TOOLS, layered=True)
    return compat_envs.ensure_env(environment, compat_envs.CLIENTS[environment])


def run_recipe(python: pathlib.Path, endpoint: str, recipe: pathlib.Path) -> tuple[int, str, dict]:
    """Run a copy of the file alone in a scratch directory, as a user who copied it from the card would."""
    with tempfile.TemporaryDirectory(prefix="card-recipe-") as work:
        script = pathlib.Path(work) / recipe.name
        shutil.copyfile(recipe, script)
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
        environment |= {
            "HF_ENDPOINT": endpoint,
            "HF_HOME": str(pathlib.Path(work) / "hf"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "PYSPARK_PYTHON": str(python),  # Spark's Python workers use the same environment
            "PYSPARK_DRIVER_PYTHON": str(python),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "JAX_PLATFORMS": "cpu",
            # Ray: loopback only (its node address, not the route to a public one), no usage report, a small
            # object store. No dashboard starts: `ray[data]` lacks its packages.
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_DEFAULT_OBJECT_STORE_MEMORY_PROPORTION": "0.05",
        }
        done = subprocess.run(
            [str(python), str(RUNNER), str(script)],
            cwd=work,
            env=environment,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("SNIPPET-SUMMARY ")]
    summary = json.loads(lines[-1].removeprefix("SNIPPET-SUMMARY ")) if lines else {}
    return done.returncode, done.stderr[-4000:], summary


def fits(rows: int) -> bool:
    """A split's or a shard's size, or a batch (a loop variable left holding the last one)."""
    return rows in SIZES or 0 < rows <= BATCH


def problems_in(summary: dict) -> list[str]:
    """What in a block's results contradicts the dataset: wrong sizes, unequal class counts, odd batches."""
    problems = []
    for name, value in summary.items():
        length = value.get("length", (value.get("shape") or [None])[0])
        if length is not None and not fits(length) and "counts" not in value:  # a group-by has a row per label
            problems.append(f"{name}: {length} rows, not a split's or a shard's size, nor a batch")
        for key, item in (value.get("lengths") or {}).items():
            if item is not None and not fits(item):
                problems.append(f"{name}[{key}]: {item} rows")
        counts = value.get("counts")
        if counts is not None and (
            sorted(counts) != [str(label) for label in range(NUM_LABELS)] or len(set(counts.values())) != 1
        ):
            problems.append(f"{name}: per-label counts {counts}, expected the same count for each of 0-9")
        batch = value.get("first_batch")
        if batch is not None:
            shapes = sorted(batch.values(), key=len)
            if len(shapes) != 2 or shapes[1][1:] not in ([1, 28, 28], [28, 28], [784]) or shapes[0] != shapes[1][:1]:
                problems.append(f"{name}: a batch of {batch}, expected images and as many labels")
    return problems


def test_every_recipe_runs_against_the_local_hub(local_hub: LocalHub) -> None:
    assert layout.REPO_ID == HUB_REPO, "the local Hub serves the copy under the repo id the recipes name"
    recipes = card.recipe_files()
    assert recipes, "recipes/ holds no recipe"

    failures, results = [], []
    for path in recipes:
        environment = environment_of(path)
        code_returned, stderr, summary = run_recipe(python_of(environment), local_hub.endpoint, path)
        results.append(f"{path.name} ({environment}): exit {code_returned}, {json.dumps(summary)}")
        if code_returned != 0:
            failures.append(f"{path.name} failed:\n{stderr}")
        else:
            failures += [f"{path.name}: {problem}" for problem in problems_in(summary)]
    print("\n".join(results))
    assert not failures, "\n\n".join(failures)
