"""The network section's runs, each in a fresh process as a new notebook or job would start (`benchmarks.network`).

`python -m benchmarks.network_runs COMMAND ARGS...` runs the function of that name (`cold-load`: `cold_load`, ...) on
ARGS and prints its JSON answer. It imports only the standard library at start-up: a peer's run does not pay for
`datasets`, and a cold load times its own `import datasets`.
"""

import gzip
import json
import pathlib
import statistics
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

STARTED = time.perf_counter()  # a cold load's `import datasets` is timed from here


def cold_load(repo_id: str, config: str) -> dict[str, Any]:
    """Import `datasets` and load every split of `config`, as a first cell of a notebook would."""
    import datasets

    imported = time.perf_counter()
    loaded = datasets.load_dataset(repo_id, config)
    seconds = time.perf_counter() - imported
    return {"seconds": seconds, "import_seconds": imported - STARTED, "rows": sum(loaded.num_rows.values())}


def keras_style(base_url: str, archives: str, directory: str) -> dict[str, Any]:
    """`keras.utils.get_file` fetches each archive with `urlretrieve` (a connection each), then `load_data` gunzips
    them and views the bytes as uint8 arrays. `archives`: JSON, a list of {filename, kind}."""
    import numpy as np

    started = time.perf_counter()
    rows = 0
    for archive in json.loads(archives):
        path = pathlib.Path(directory) / archive["filename"]
        urllib.request.urlretrieve(base_url + archive["filename"], path)
        with gzip.open(path, "rb") as file:
            array = np.frombuffer(file.read(), np.uint8, offset=16 if archive["kind"] == "images" else 8)
        rows += len(array) if archive["kind"] == "labels" else 0
    return {"seconds": time.perf_counter() - started, "rows": rows}


def torchvision(base_url: str, directory: str) -> dict[str, Any]:
    """torchvision's own `FashionMNIST(root, download=True)` from a mirror: its download, MD5 check and gunzip."""
    from torchvision.datasets import FashionMNIST

    FashionMNIST.mirrors = [base_url]
    started = time.perf_counter()  # after the import, as a cold load's
    rows = len(FashionMNIST(directory, train=True, download=True)) + len(FashionMNIST(directory, train=False))
    return {"seconds": time.perf_counter() - started, "rows": rows}


def stream_epochs(runs: Sequence[Mapping[str, Any]], repeat: int, counts_url: str) -> dict[str, Any]:
    """Streamed epochs of the card's recipes, taking turns; the median seconds of each run, and its requests."""
    import fashion_mnist
    from benchmarks import loops

    recipe = {fashion_mnist.PIXELS: loops.pixels_stream_batches, fashion_mnist.NAME: loops.png_stream_batches}
    times: dict[str, list[float]] = {run["name"]: [] for run in runs}
    rows: dict[str, int] = {}
    requests: dict[str, int] = {}
    for run in [*runs] * repeat:  # taking turns
        before = requests_so_far(counts_url)
        started = time.perf_counter()
        rows[run["name"]] = sum(len(labels) for _, labels in recipe[run["config"]](run["repo"], run["workers"]))
        times[run["name"]].append(time.perf_counter() - started)
        requests[run["name"]] = requests_so_far(counts_url) - before
    seconds = {name: statistics.median(values) for name, values in times.items()}
    return {"seconds": seconds, "rows": rows, "requests": requests}


def requests_so_far(counts_url: str) -> int:
    """The far Hub front's requests counted so far, asked of it over HTTP (not counted as a request)."""
    with urllib.request.urlopen(counts_url, timeout=30) as response:
        return request_count(json.loads(response.read()))


def request_count(counts: Mapping[str, int]) -> int:
    return sum(value for kind, value in counts.items() if kind != "connections")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "stream-epochs":
        answer = stream_epochs(json.loads(args[0]), int(args[1]), args[2])
    else:
        answer = {"cold-load": cold_load, "keras-style": keras_style, "torchvision": torchvision}[command](*args)
    print(json.dumps(answer))
