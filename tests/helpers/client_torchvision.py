"""torchvision's own `FashionMNIST` beside the copy's `pixels` config, as a user comparing the two would; prints JSON.

Run with the python of the "vision" compat environment (`tests/helpers/compat_envs.py`): it imports
nothing of the project, only torchvision, `datasets` and numpy.

    python client_torchvision.py SPEC_JSON

SPEC_JSON: {"mirror": base URL ending in "/", "repo": Hub repo id, "root": a fresh directory}. torchvision
downloads the four archives from the mirror (its class attribute `mirrors`), checks their MD5 and
gunzips them, as `FashionMNIST(root, download=True)` always does; HF_ENDPOINT names the Hub.
For each split the report holds the shapes, dtypes and SHA-256 of torchvision's `data` and
`targets`, whether they equal the copy's arrays, and the mode and label of torchvision's first item.
"""

from __future__ import annotations

import hashlib
import json
import sys

import datasets
import numpy as np
import torch
import torchvision


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def compare_split(spec: dict, train: bool) -> dict:
    ours = torchvision.datasets.FashionMNIST(spec["root"], train=train, download=True)
    split = datasets.load_dataset(spec["repo"], "pixels", split="train" if train else "test")
    rows = split.with_format("numpy", dtype=np.uint8)[:]
    pixels, labels = rows["pixels"].reshape(-1, 28, 28), rows["label"]
    data, targets = ours.data.numpy(), ours.targets.numpy()
    image, label = ours[0]
    return {
        "data": {"shape": list(data.shape), "dtype": str(ours.data.dtype), "sha256": sha256(data)},
        "targets": {"shape": list(targets.shape), "dtype": str(ours.targets.dtype), "sha256": sha256(targets)},
        "data_equal": bool(np.array_equal(data, pixels)),
        "targets_equal": bool(np.array_equal(targets, labels)),
        "first": {"mode": image.mode, "size": list(image.size), "label": int(label)},
        "classes": list(ours.classes),
        "label_names": split.features["label"].names,
    }


def main() -> int:
    spec = json.loads(sys.argv[1])
    datasets.disable_progress_bars()
    torchvision.datasets.FashionMNIST.mirrors = [spec["mirror"]]
    report = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__}}
    report["versions"]["datasets"] = datasets.__version__
    report["splits"] = {"train": compare_split(spec, train=True), "test": compare_split(spec, train=False)}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
