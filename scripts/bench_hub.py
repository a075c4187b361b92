"""`load_dataset("org/fashion_mnist")` and streaming over HTTP from a local Hub serving what the push uploads.

The same olah server and Range-honouring front the tests use (`tests/local_hub.py`), on
127.0.0.1 with no latency: these figures tell what the Hub's protocol costs, not a network.
No target depends on them, so only `--long` takes them.
"""

from __future__ import annotations

import contextlib
import functools
import pathlib
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from scripts import bench_peers as peers
from scripts import bench_recipes as recipes
from scripts import bench_report as report
from scripts.bench_copies import num_rows
from scripts.bench_harness import Figures, Setup, in_fresh_process, interleaved_medians
from scripts.bench_load import load_seconds
from scripts.bench_stream import stream_epoch_seconds

HUB_REPO_ID = "org/fashion_mnist"
WORKER_COUNTS = (1, 2)


def measure(setup: Setup) -> Figures:
    if not setup.long:
        return {}
    try:
        with local_hub_serving(setup.repo, pathlib.Path(tempfile.mkdtemp(prefix="hub-", dir=setup.work))) as repo_id:
            warm = setup.work / "hub-cache"
            load_seconds(repo_id, warm)
            times = interleaved_medians(
                {
                    "cold": lambda: load_seconds(
                        repo_id, pathlib.Path(tempfile.mkdtemp(prefix="cache-", dir=setup.work)), redownload=True
                    ),
                    "warm": lambda: load_seconds(repo_id, warm),
                },
                setup.repeat,
            )
            figures: Figures = {"hub_load_seconds_cold": times["cold"], "hub_load_seconds_warm": times["warm"]}
            return figures | in_fresh_process(measure_stream, setup)
    except peers.Unavailable as reason:
        setup.unavailable["hub"] = str(reason)
        return {}


@contextlib.contextmanager
def local_hub_serving(repo: pathlib.Path, root: pathlib.Path) -> Iterator[str]:
    """Serve the push's upload set of `repo` as `org/fashion_mnist` on the tests' local Hub; yield the repo id.

    huggingface_hub, `datasets` and child processes are pointed at it while the context lasts.
    """
    from scripts.push_to_hub import upload_set
    from tests.local_hub import OLAH_CLI, LocalHub, clients_pointed_at

    if not OLAH_CLI.exists():
        raise peers.Unavailable("olah is not installed (it comes with the `test` extra)")

    with LocalHub(root) as hub:
        hub.publish(HUB_REPO_ID, upload_set(repo))
        with clients_pointed_at(hub.endpoint):
            yield HUB_REPO_ID


def measure_stream(setup: Setup) -> Figures:
    """Examples per second streamed over HTTP from the local Hub (HF_ENDPOINT is inherited) with 1 and 2 workers."""
    n = num_rows(setup.repo, "train")
    streams = {
        "image": functools.partial(recipes.png_stream_batches, HUB_REPO_ID),
        "pixels": functools.partial(recipes.pixels_stream_batches, HUB_REPO_ID),
    }
    runs = {
        f"{name}_{workers}w": functools.partial(stream_epoch_seconds, stream, workers, n)
        for name, stream in streams.items()
        for workers in WORKER_COUNTS
    }
    times = interleaved_medians(runs, setup.repeat)
    return {f"hub_stream_rate_{key}": n / value for key, value in times.items()}


def table(r: Mapping[str, Any]) -> str:
    if not report.taken(r, "hub_load_seconds_cold"):
        return ""
    loads = report.table(
        '`load_dataset("org/fashion_mnist")` from a local Hub (olah on 127.0.0.1), the default config, both splits:',
        ("cache", "measured"),
        "lr",
        [
            report.row("cold: nothing cached", report.seconds(r["hub_load_seconds_cold"])),
            report.row("warm: both caches filled", report.seconds(r["hub_load_seconds_warm"])),
        ],
    )
    rows = [
        report.row(f"`{name}`", *(report.rate(r[f"hub_stream_rate_{key}_{n}w"]) for n in WORKER_COUNTS),
                   report.ratio(r[f"hub_stream_rate_{key}_2w"] / r[f"hub_stream_rate_{key}_1w"]))
        for key, name in (("image", "fashion_mnist"), ("pixels", "pixels"))
        if report.taken(r, f"hub_stream_rate_{key}_1w")
    ]  # fmt: skip
    streams = report.table(
        "The card's streams over HTTP from the same local Hub, examples per second:",
        ("stream", *(report.workers(n) for n in WORKER_COUNTS), "2 workers / 1"),
        "lrrr",
        rows,
    )
    return "\n\n".join(filter(None, (loads, streams)))
