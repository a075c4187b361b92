"""Load the copy the way a user of one `datasets` version would; print what it gave as JSON.

Run with the python of a compat virtual environment (see `tests/helpers/compat_envs.py`), not
the project's: it imports nothing of the project, only `datasets`, numpy and PIL.

    python compat_probe.py SPEC_JSON

SPEC_JSON: {"cases": [{"name", "source", "config", "streaming", "kwargs"}, ...]} where
`source` is a Hub repo id (HF_ENDPOINT names the Hub), a local folder or the builder
script's path. Each case prints the split sizes, the features (spelled the same for
every version), the first example of each split as a digest of its 28x28 uint8 pixels
and its label, the info fields and, for a normal load, the whole test split's digest.
A case that raises is reported with its error; the others still run.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import traceback

import datasets
import numpy as np

INFO_FIELDS = ("description", "citation", "homepage", "license")


def describe(feature: object) -> object:
    """A version-independent spelling: `Sequence` (2.x, 3.x) and `List` (4.x, 5.x) of uint8 both read `uint8[784]`."""
    kind = type(feature).__name__
    if kind == "ClassLabel":
        return {"ClassLabel": list(feature.names)}
    if kind in ("Sequence", "List"):
        return f"{describe(feature.feature)}[{feature.length}]"
    if kind == "Value":
        return feature.dtype
    return kind


def pixels_of(example: dict) -> np.ndarray:
    if "image" in example:
        return np.asarray(example["image"], dtype=np.uint8)
    return np.asarray(example["pixels"], dtype=np.uint8).reshape(28, 28)


def digest(example: dict) -> list:
    pixels = pixels_of(example)
    return [pixels.shape[0], pixels.shape[1], hashlib.sha256(pixels.tobytes()).hexdigest(), int(example["label"])]


def split_digest(dataset: object) -> tuple[str, int]:
    """SHA-256 over every example's pixels and label, in order, and the number of examples."""
    total, count = hashlib.sha256(), 0
    for example in dataset:
        total.update(pixels_of(example).tobytes())
        total.update(bytes([int(example["label"])]))
        count += 1
    return total.hexdigest(), count


def run_case(case: dict, cache_dir: str) -> dict:
    loaded = datasets.load_dataset(
        case["source"], case["config"], streaming=case["streaming"], cache_dir=cache_dir, **case.get("kwargs", {})
    )
    result = {"splits": {}, "first": {}, "features": {}, "info": {}}
    for split, dataset in loaded.items():
        info = dataset.info
        if case["streaming"]:
            result["splits"][split] = info.splits[split].num_examples if info.splits else None
            first = next(iter(dataset))
        else:
            result["splits"][split] = len(dataset)
            first = dataset[0]
        if split == "test":
            result["test_digest"], result["test_rows"] = split_digest(dataset)
        result["first"][split] = digest(first)
        result["features"][split] = {name: describe(feature) for name, feature in dataset.features.items()}
        keys = info.supervised_keys
        result["info"][split] = {field: getattr(info, field) or "" for field in INFO_FIELDS} | {
            "supervised_keys": [keys.input, keys.output] if keys else None,
            "config_name": info.config_name,
        }
    return result


def main() -> int:
    spec = json.loads(sys.argv[1])
    datasets.disable_progress_bars()
    report = {"datasets": datasets.__version__, "cases": {}}
    for package in ("pyarrow", "numpy", "huggingface_hub", "fsspec", "pandas"):
        report[package] = __import__(package).__version__
    cache_dir = tempfile.mkdtemp(prefix="compat-cache-")  # fresh per run, shared by the cases of one version
    for case in spec["cases"]:
        try:
            report["cases"][case["name"]] = run_case(case, cache_dir)
        except Exception as error:  # noqa: BLE001 - reported for the test to show, with the traceback
            failure = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
            report["cases"][case["name"]] = failure
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
