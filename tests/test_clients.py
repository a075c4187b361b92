"""The clients people train with, unchanged, on the copy from the local Hub: torchvision, transformers, timm, TF.

Each runs from its own installed package in a compat environment of its own
(`compat_envs.CLIENTS`: "vision" holds torch 2.14, torchvision, timm, transformers, accelerate
and evaluate; "tensorflow" holds TensorFlow and Keras), through a program file of
`tests/helpers/client_*.py` started with that environment's python in a scratch directory, with
HF_ENDPOINT naming the local Hub. The program does what the library's user does and prints
JSON; the assertions are here: what torchvision gives equals the copy, array for array; the
label names reach the model's config; the models learn (accuracy above chance by a margin,
after a stated number of steps); the lengths, labels and image modes are the copy's.

Marked `compat` (the environments take about 7 GB and a few minutes to make): `make compat` runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

import fashion_mnist
from local_hub import LocalHub
from tests.conftest import HUB_REPO
from tests.helpers import compat_envs
from tests.helpers.loopback import LoopbackServer, Route
from tests.helpers.synthetic import read_idx_gz

pytestmark = pytest.mark.compat

HELPERS = pathlib.Path(__file__).parent / "helpers"
CLIENT_TIMEOUT = 900  # seconds for one client program, its downloads and training included
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
NUM_LABELS = len(fashion_mnist.LABEL_NAMES)
CHANCE = 1 / NUM_LABELS
MARGIN = 0.25  # a model that learned anything is this far above chance after its few steps; a broken pipeline is not
MIRROR_PATH = "/fashion-mnist/"


@pytest.fixture(scope="module")
def vision_python() -> pathlib.Path:
    return compat_envs.ensure_env("vision", compat_envs.CLIENTS["vision"])


@pytest.fixture(scope="module")
def tensorflow_python() -> pathlib.Path:
    return compat_envs.ensure_env("tensorflow", compat_envs.CLIENTS["tensorflow"])


@pytest.fixture(scope="module")
def archive_arrays(real_archives: pathlib.Path) -> dict[tuple[str, str], np.ndarray]:
    """(split, "images" | "labels") -> the archive's array, read without the builder."""
    return {
        (archive.split, archive.kind): read_idx_gz((real_archives / archive.filename).read_bytes())
        for archive in fashion_mnist.ARCHIVES
    }


def run_client(
    python: pathlib.Path, program: str, spec: dict, endpoint: str, files: dict[str, pathlib.Path] | None = None
) -> dict:
    """Run `tests/helpers/<program>` in a scratch directory (holding `files`) with a fresh HF_HOME; it prints JSON."""
    with tempfile.TemporaryDirectory(prefix="client-") as work:
        for name, source in (files or {}).items():
            (pathlib.Path(work) / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, pathlib.Path(work) / name)
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
        environment |= {
            "HF_ENDPOINT": endpoint,
            "HF_HOME": str(pathlib.Path(work) / "hf"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "OMP_NUM_THREADS": "2",
        }
        done = subprocess.run(
            [str(python), str(HELPERS / program), json.dumps(spec | {"work": work})],
            cwd=work,  # not the checkout: nothing of the project on the path
            env=environment,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
        )
    assert done.returncode == 0, f"{program} failed:\n{done.stderr[-6000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{program}: {json.dumps(report)}")
    return report


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def test_torchvision_fashion_mnist_equals_the_pixels_config(
    vision_python: pathlib.Path, local_hub: LocalHub, real_archives: pathlib.Path, archive_arrays: dict
) -> None:
    routes = {
        MIRROR_PATH + archive.filename: Route.serve((real_archives / archive.filename).read_bytes())
        for archive in fashion_mnist.ARCHIVES
    }
    with LoopbackServer(routes) as mirror, tempfile.TemporaryDirectory(prefix="torchvision-root-") as root:
        spec = {"mirror": mirror.url(MIRROR_PATH), "repo": HUB_REPO, "root": root}
        report = run_client(vision_python, "client_torchvision.py", spec, local_hub.endpoint)
        fetched = {request.path for request in mirror.requests if request.method == "GET"}

    assert release(report["versions"]["torchvision"]) == pinned("torchvision")
    assert fetched == set(routes), "torchvision did not download the four archives from its mirror"
    for split, size in SPLIT_SIZES.items():
        result, images, labels = (
            report["splits"][split],
            archive_arrays[split, "images"],
            archive_arrays[split, "labels"],
        )
        assert result["data"] == {"shape": [size, 28, 28], "dtype": "torch.uint8", "sha256": sha256(images)}, split
        assert result["targets"] == {"shape": [size], "dtype": "torch.int64", "sha256": sha256(labels.astype(np.int64))}
        assert result["data_equal"] and result["targets_equal"], f"{split}: torchvision's arrays differ from the copy's"
        assert result["first"] == {"mode": "L", "size": [28, 28], "label": int(labels[0])}, split
        assert result["classes"] == result["label_names"] == list(fashion_mnist.LABEL_NAMES), split


def pinned(package: str) -> str:
    """The version `compat_envs.CLIENTS` pins for `package` (the card's "Tested with" table names the same)."""
    for requirements in compat_envs.CLIENTS.values():
        for requirement in requirements:
            name, _, version = requirement.partition("==")
            if name == package:
                return version
    raise KeyError(package)


def release(version: str) -> str:
    """`0.29.1` of `0.29.1+cu130`: the local part names the build (CUDA here), not the release pinned."""
    return version.partition("+")[0]


TRAINER_STEPS = 150  # batches of 64: a tenth of an epoch
TIMM_STEPS = 100
EVAL_ROWS = 1_000  # the first test examples, 100 or so of each label


def test_transformers_image_classification_learns_downloaded_and_streamed(
    vision_python: pathlib.Path, local_hub: LocalHub
) -> None:
    spec = {"repo": HUB_REPO, "steps": TRAINER_STEPS, "batch_size": 64, "eval_rows": EVAL_ROWS}
    files = {"accuracy/accuracy.py": HELPERS / "evaluate_accuracy.py"}  # what evaluate.load("accuracy") finds offline

    report = run_client(vision_python, "client_transformers.py", spec, local_hub.endpoint, files)

    assert report["versions"]["transformers"] == pinned("transformers")
    assert report["processor"].startswith("ViTImageProcessor"), "AutoImageProcessor gave another processor"
    for way in ("downloaded", "streamed"):
        result = report[way]
        assert result["steps"] == TRAINER_STEPS, way
        assert result["id2label"] == {str(index): name for index, name in enumerate(fashion_mnist.LABEL_NAMES)}, way
        assert result["label2id"] == {name: index for index, name in enumerate(fashion_mnist.LABEL_NAMES)}, way
        assert result["accuracy"] >= CHANCE + MARGIN, (
            f"{way}: accuracy {result['accuracy']} after {TRAINER_STEPS} steps"
        )


def test_timm_hfds_and_hfids_train_a_one_channel_model(
    vision_python: pathlib.Path, local_hub: LocalHub, archive_arrays: dict
) -> None:
    first = 32
    spec = {"repo": HUB_REPO, "steps": TIMM_STEPS, "batch_size": 64, "eval_rows": EVAL_ROWS, "first": first}

    report = run_client(vision_python, "client_timm.py", spec, local_hub.endpoint)

    assert report["versions"]["timm"] == pinned("timm")
    assert report["test_length"] == SPLIT_SIZES["test"]
    for prefix in ("hfds", "hfids"):  # hfids: the length comes from the split info of dataset_infos.json
        result = report[prefix]
        assert result["length"] == SPLIT_SIZES["train"], prefix
        # timm rounds a training stream up to whole batches (each worker's share); a map-style dataset is its rows
        whole_batches = -(-SPLIT_SIZES["train"] // 64) * 64 if prefix == "hfids" else SPLIT_SIZES["train"]
        assert result["training_length"] == whole_batches, prefix
        assert result["modes"] == ["L"] and result["sizes"] == [[28, 28]], prefix
        assert result["labels"] == archive_arrays["train", "labels"][:first].tolist(), prefix
        assert result["accuracy"] >= CHANCE + MARGIN, (
            f"{prefix}: accuracy {result['accuracy']} after {TIMM_STEPS} steps"
        )


def test_tensorflow_batches_equal_the_copy_and_keras_trains_an_epoch(
    tensorflow_python: pathlib.Path, local_hub: LocalHub, archive_arrays: dict
) -> None:
    configs = [fashion_mnist.NAME, fashion_mnist.PIXELS]
    spec = {"repo": HUB_REPO, "configs": configs, "batch_size": 256}

    report = run_client(tensorflow_python, "client_tensorflow.py", spec, local_hub.endpoint)

    assert report["versions"]["tensorflow"] == pinned("tensorflow-cpu") and report["backend"] == "tensorflow"
    for config in configs:
        assert set(report["configs"][config]) == set(SPLIT_SIZES), config
        for split, size in SPLIT_SIZES.items():
            result, where = report["configs"][config][split], f"{config} {split}"
            assert result["equal"], f"{where}: the tf.data batches differ from the copy's arrays"
            assert result["batches"] == -(-size // 256), where
            assert result["first_batch"][1] == [256] and result["first_batch"][0][0] == 256, where
            assert result["images_sha256"] == sha256(archive_arrays[split, "images"]), where
            assert result["labels_sha256"] == sha256(archive_arrays[split, "labels"]), where
    keras_run = report["keras"]
    assert keras_run["epochs"] == 1 and keras_run["accuracy"] >= CHANCE + MARGIN, keras_run
