"""recipes/ray_train.py feeds two workers every train example exactly once, from the local Hub, in both configs.

The program below runs the recipe's own `read_train` (Ray Data reads the Parquet files
through `HfFileSystem`) and `batches` (`iter_torch_batches`), split as the recipe splits
(`streaming_split(2, equal=True)`), with each worker returning a digest of every example
it was given instead of training. The default config's PNG bytes are decoded in
`map_batches` first, as the card says. The digests of
both workers together must be those of the archives' train split, each as often as
there (no example lost, none repeated), and each worker must get half.

Marked `compat`: it runs in the card's tools environment (`compat_envs.TOOLS`), like the other recipes.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import pathlib
import subprocess
import tempfile

import pytest

import fashion_mnist
from local_hub import LocalHub
from tests.conftest import HUB_REPO, PROJECT_ROOT
from tests.helpers import compat_envs
from tests.helpers.synthetic import read_idx_gz

pytestmark = pytest.mark.compat

PROGRAM = """\
import hashlib, io, json, sys
import numpy as np, ray
from PIL import Image
from recipes.ray_train import batches, read_train  # PYTHONPATH names the project: Ray's workers import it too

repo, configs = sys.argv[1], json.loads(sys.argv[2])

def decode(batch):  # the default config: PNG bytes to the same 784 uint8 pixels
    images = [np.asarray(Image.open(io.BytesIO(image["bytes"]))) for image in batch["image"]]
    return {"pixels": np.stack(images).reshape(len(images), -1), "label": batch["label"]}

@ray.remote
def digest_worker(shard):
    digests = []
    for batch in batches(shard):
        for pixels, label in zip(batch["pixels"].numpy(), batch["label"].numpy()):
            digests.append(hashlib.blake2b(pixels.tobytes() + bytes([int(label)]), digest_size=8).hexdigest())
    return digests

ray.init(num_cpus=4)
report = {}
for config, pattern in configs.items():
    train = read_train(f"datasets/{repo}/{pattern}.parquet")
    if config != "pixels":
        train = train.map_batches(decode, batch_format="numpy")
    report[config] = ray.get([digest_worker.remote(shard) for shard in train.streaming_split(2, equal=True)])
print("RAY-REPORT " + json.dumps(report))
"""
TIMEOUT = 1200  # seconds: Ray's start and two passes over the train split on a busy 2-core machine


@pytest.fixture(scope="module")
def tools_python() -> pathlib.Path:
    return compat_envs.ensure_env("tools", compat_envs.TOOLS, layered=True)


def digest(pixels: bytes, label: int) -> str:
    return hashlib.blake2b(pixels + bytes([label]), digest_size=8).hexdigest()


def test_two_ray_workers_get_every_example_once_in_both_configs(
    tools_python: pathlib.Path, local_hub: LocalHub, real_archives: pathlib.Path
) -> None:
    from scripts import layout

    configs = {config: layout.split_glob(config, "train") for config in fashion_mnist.FEATURES}
    with tempfile.TemporaryDirectory(prefix="ray-test-") as work:
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
        environment |= {
            "HF_ENDPOINT": local_hub.endpoint,
            "HF_HOME": str(pathlib.Path(work) / "hf"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "PYTHONPATH": str(PROJECT_ROOT),
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # the node's address is 127.0.0.1
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_DEFAULT_OBJECT_STORE_MEMORY_PROPORTION": "0.05",
        }
        done = subprocess.run(
            [str(tools_python), "-c", PROGRAM, HUB_REPO, json.dumps(configs)],
            cwd=work, env=environment, capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-5000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RAY-REPORT "))
    report = json.loads(line.removeprefix("RAY-REPORT "))

    images = read_idx_gz((real_archives / "train-images-idx3-ubyte.gz").read_bytes())
    labels = read_idx_gz((real_archives / "train-labels-idx1-ubyte.gz").read_bytes())
    pairs = zip(images, labels, strict=True)
    expected = collections.Counter(digest(image.tobytes(), int(label)) for image, label in pairs)
    assert set(report) == set(configs)
    for config, workers in report.items():
        assert [len(worker) for worker in workers] == [len(labels) // 2] * 2, config
        assert collections.Counter(workers[0] + workers[1]) == expected, f"{config}: not every example exactly once"
