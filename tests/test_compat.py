"""The compatibility matrix: the Hub copy as users of datasets 2.21, 3.6, 4.8 and 5.2 load it.

Each version runs in its own virtual environment (`tests/helpers/compat_envs.py`); the probe
(`tests/helpers/compat_probe.py`) loads the copy there, from the local Hub (normal and
streaming, the default config and both named ones) and from a local folder, both with
`verification_mode="all_checks"` too, and on 2.21/3.6 also runs `fashion_mnist.py` as a
loading script on the original archives.
It prints JSON; the assertions are here: split sizes, features and label names, the
first example of each split and the whole test split against the archives' pixels,
and the metadata (description, citation, homepage, license, supervised keys).

Marked `compat`: `make test` leaves it out, `make compat` (run by `.ci/run`) runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import tempfile

import numpy as np
import pytest

import fashion_mnist
from local_hub import LocalHub
from tests.conftest import HUB_REPO, PROJECT_ROOT
from tests.helpers import compat_envs
from tests.helpers.synthetic import read_idx_gz

pytestmark = pytest.mark.compat

PROBE = pathlib.Path(__file__).parent / "helpers" / "compat_probe.py"
PROBE_TIMEOUT = 900  # seconds for one version's cases
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
FIRST_FEATURE = {fashion_mnist.NAME: "image", fashion_mnist.PIXELS: "pixels"}


@pytest.fixture(scope="module")
def compat_pythons() -> dict[str, pathlib.Path]:
    """version -> the python of its environment; made once (two installs at a time), reused from the cache after."""
    return compat_envs.ensure_envs(compat_envs.MATRIX)


@pytest.fixture(scope="module")
def expected(real_archives: pathlib.Path) -> dict:
    """From the archives alone: each split's first example and the test split's digest, as the probe computes them."""
    arrays = {}
    for archive in fashion_mnist.ARCHIVES:
        arrays[archive.split, archive.kind] = read_idx_gz((real_archives / archive.filename).read_bytes())
    first = {}
    for split in SPLIT_SIZES:
        image, label = arrays[split, "images"][0], int(arrays[split, "labels"][0])
        first[split] = [*image.shape, hashlib.sha256(image.tobytes()).hexdigest(), label]
    total = hashlib.sha256()
    for image, label in zip(arrays["test", "images"], arrays["test", "labels"], strict=True):
        total.update(image.tobytes())
        total.update(bytes([int(label)]))
    assert first["train"][:2] == [28, 28] and isinstance(arrays["test", "images"], np.ndarray)
    return {"first": first, "test_digest": total.hexdigest()}


def cases(version: str, folder: pathlib.Path, archives: pathlib.Path) -> list[dict]:
    """What a user of `version` would try; config None is `load_dataset(repo)`, the default config."""
    hub = [
        {"name": f"hub {config or 'default'}{' streaming' if streaming else ''}", "source": HUB_REPO,
         "config": config, "streaming": streaming}
        for config in (None, fashion_mnist.NAME, fashion_mnist.PIXELS)
        for streaming in (False, True)
    ]  # fmt: skip
    local = [
        {"name": f"folder {config or 'default'}", "source": str(folder), "config": config, "streaming": False}
        for config in (None, fashion_mnist.PIXELS)
    ]
    # The mode a careful user picks: datasets 2.x and 3.x then also check the download checksums of the infos.
    all_checks = [
        {"name": f"{where} {config} all_checks", "source": source, "config": config, "streaming": False,
         "kwargs": {"verification_mode": "all_checks"}}
        for where, source in (("hub", HUB_REPO), ("folder", str(folder)))
        for config in fashion_mnist.FEATURES
    ]  # fmt: skip
    script = [
        {
            "name": f"script {config}",
            "source": str(PROJECT_ROOT / "fashion_mnist.py"),
            "config": config,
            "streaming": False,
            "kwargs": {"data_dir": str(archives), "trust_remote_code": True},
        }
        for config in fashion_mnist.FEATURES
        if version in compat_envs.SCRIPT_VERSIONS
    ]
    return hub + local + all_checks + script


def run_probe(python: pathlib.Path, endpoint: str, spec: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="compat-hf-home-") as home:
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
        environment |= {"HF_ENDPOINT": endpoint, "HF_HOME": home, "HF_HUB_DISABLE_TELEMETRY": "1"}
        done = subprocess.run(
            [str(python), str(PROBE), json.dumps(spec)],
            cwd=home,  # not the checkout: nothing of the project on the path but what the cases name
            env=environment,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
        )
    assert done.returncode == 0, done.stderr[-5000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def expected_features(config: str) -> dict:
    label = {"ClassLabel": list(fashion_mnist.LABEL_NAMES)}
    if config == fashion_mnist.NAME:
        return {"image": "Image", "label": label}
    return {"pixels": f"uint8[{fashion_mnist.NUM_PIXELS}]", "label": label}


@pytest.mark.parametrize("version", list(compat_envs.MATRIX))
def test_datasets_version_loads_the_copy_with_its_metadata(
    version: str,
    compat_pythons: dict[str, pathlib.Path],
    local_hub: LocalHub,
    real_repo: pathlib.Path,
    real_archives: pathlib.Path,
    expected: dict,
) -> None:
    spec = {"cases": cases(version, real_repo, real_archives)}

    report = run_probe(compat_pythons[version], local_hub.endpoint, spec)

    print(f"datasets {version}: " + ", ".join(f"{k} {v}" for k, v in report.items() if k != "cases"))
    assert report["datasets"] == version
    failures = {name: result["error"] for name, result in report["cases"].items() if "error" in result}
    assert not failures, json.dumps(failures, indent=1)
    assert set(report["cases"]) == {case["name"] for case in spec["cases"]}
    for case in spec["cases"]:
        result, config = report["cases"][case["name"]], case["config"] or fashion_mnist.NAME
        where = f"datasets {version}, {case['name']}"
        assert result["splits"] == SPLIT_SIZES, where
        assert result["test_rows"] == SPLIT_SIZES["test"], where
        assert result["test_digest"] == expected["test_digest"], f"{where}: the test split is not the archive's"
        assert result["first"] == expected["first"], f"{where}: first examples differ from the archives'"
        for split in SPLIT_SIZES:
            features = result["features"][split]
            assert features == expected_features(config) and list(features) == list(expected_features(config)), where
            assert result["info"][split] == {
                "description": fashion_mnist.DESCRIPTION,
                "citation": fashion_mnist.CITATION,
                "homepage": fashion_mnist.HOMEPAGE,
                "license": fashion_mnist.LICENSE,
                "supervised_keys": [FIRST_FEATURE[config], "label"],
                "config_name": config,
            }, where
