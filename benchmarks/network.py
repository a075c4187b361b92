"""First use over the network: a cold `load_dataset` and a streamed epoch from a Hub that seems far away.

Every user meets the copy through the Hub, where a request costs tens to hundreds of milliseconds, and every Colab
session or CI job starts with an empty cache; loopback figures hide that. So the local Hub serves the copy over a
`Link` (a round trip held per request, bandwidth capped), each run a fresh process with an empty `HF_HOME`.
"""

import contextlib
import dataclasses
import json
import os
import pathlib
import statistics
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import fashion_mnist
from benchmarks import network_runs as runs
from benchmarks import report
from benchmarks.harness import Setup, Unavailable, run_json
from local_hub import COUNTS_PATH, OLAH_CLI, Link, LocalHub
from scripts import layout
from scripts.push_to_hub import upload_set

ONE_FILE_REPO_ID = "org/fashion_mnist_one_file"  # the same rows, one Parquet file per split
ARCHIVES_REPO_ID = "org/fashion_mnist_archives"  # the four original .gz files, for the peers' downloads
CONFIG_KEYS = {fashion_mnist.NAME: "image", fashion_mnist.PIXELS: "pixels"}
PEERS = {"keras_style": "Keras-style (4 archives)", "torchvision": "torchvision `download=True`"}
QUIET_CHILD = ("HF_HUB_DISABLE_TELEMETRY", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS")
CAP = 100e6 / 8  # 100 Mbit/s in bytes a second: per connection (one TCP stream from a far server), or the user's line
AIM_LINK = Link(0.1, bytes_per_second=CAP)  # where parallel files should win clearly: a far server, streams capped
LATENCIES = (0.0, 0.05, 0.1)  # seconds a round trip (`--long`): loopback, a near server, a far one
COLD_LINKS = {  # a fresh process per run: the grid costs minutes, so it is `--long`'s
    "default": (AIM_LINK,),
    "long": tuple(Link(rtt, bytes_per_second=CAP, shared_cap=shared) for rtt in LATENCIES for shared in (False, True)),
}
STREAM_LATENCIES = {"default": (0.0,), "long": LATENCIES}
STREAM_WORKERS = {"default": (2,), "long": (0, 1, 2)}


def describe(link: Link) -> str:
    """How a network engineer says it, and the link's name in the figures: `100 ms, 100 Mbit/s per connection`."""
    if not link.bytes_per_second:
        return f"{link.latency * 1000:g} ms, no cap"
    scope = "shared by all connections" if link.shared_cap else "per connection"
    return f"{link.latency * 1000:g} ms, {link.bytes_per_second * 8 / 1e6:g} Mbit/s {scope}"


@dataclasses.dataclass(frozen=True)
class FirstUse:
    """One first use (the median seconds of its runs), and the requests and connections of its last run."""

    seconds: float
    requests: int
    connections: int


@dataclasses.dataclass(frozen=True)
class NetworkFigures:
    """Cold first uses at each link (`describe`), and streamed epochs from the Hub at each latency beside local files.

    Contenders: each config (`image`, `pixels`), each in the one-file layout (`image_one_file`, ...) and the `PEERS`
    the run took. Streams: `{config}_{where}_{workers}w`, where is `hub` or `hub_one_file`."""

    datasets_import_seconds: float | None  # before each cold load, left out of its seconds
    first_uses: dict[str, dict[str, FirstUse]]  # link -> contender -> its first use
    cold_ratios: dict[str, dict[str, float]]  # link -> config -> seconds / the one-file layout's
    hub_stream_rates: dict[str, dict[str, float]]  # latency ("0 ms") -> stream -> examples per second
    hub_stream_requests: dict[str, dict[str, int]]  # latency -> stream -> requests an epoch
    local_stream_rates: dict[str, float]  # `{config}_{workers}w` -> examples per second from local files
    hub_stream_ratios: dict[str, float]  # `{config}_{workers}w` -> the Hub's rate at 0 ms / local files'


@contextlib.contextmanager
def far_hub(setup: Setup, root: pathlib.Path) -> Iterator[LocalHub]:
    """One local Hub (in the existing directory `root`) serving what the push uploads of the copy, the same with the
    one-file layout's shards (the card's globs match both), and the archives; its `front` sets the link and counts."""
    with LocalHub(root) as hub:
        copy = upload_set(setup.repo)
        hub.publish(layout.REPO_ID, copy)
        one_file = {path: local for path, local in copy.items() if not path.endswith(".parquet")}
        one_file |= {path.relative_to(setup.one_shard).as_posix(): path for path in setup.one_shard.rglob("*.parquet")}
        hub.publish(ONE_FILE_REPO_ID, one_file)
        hub.publish(ARCHIVES_REPO_ID, {a.filename: setup.archive_dir / a.filename for a in setup.archives})
        yield hub


def run_child(command: Sequence[str], endpoint: str, work: pathlib.Path, python: str = sys.executable) -> Any:
    """`python -m benchmarks.network_runs COMMAND...` with an empty HF_HOME pointed at `endpoint`; its answer."""
    home = tempfile.mkdtemp(prefix="hf-home-", dir=work)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGINGFACE_"))}
    env |= {"HF_HOME": home, "HF_ENDPOINT": endpoint, **dict.fromkeys(QUIET_CHILD, "1")}
    return run_json([python, "-m", "benchmarks.network_runs", *command], env, cwd=home)


def cold_first_use(
    hub: LocalHub, links: Sequence[Link], setup: Setup, *, keras_style: bool, torchvision_python: pathlib.Path | None
) -> dict[str, Any]:
    """`NetworkFigures`' first-use fields: each first use at each link, medians of `setup.repeat` runs taking turns.
    Each run must see every example (each split's rows, or the archives' labels), or the section fails."""
    expected_rows = sum(a.num_examples for a in setup.archives if a.kind == "labels")
    archives_url = f"{hub.endpoint}/datasets/{ARCHIVES_REPO_ID}/resolve/main/"
    contenders: dict[str, tuple[str, list[str]]] = {}  # name -> the python that runs it, its command
    for config, key in CONFIG_KEYS.items():
        contenders[key] = (sys.executable, ["cold-load", layout.REPO_ID, config])
        contenders[f"{key}_one_file"] = (sys.executable, ["cold-load", ONE_FILE_REPO_ID, config])
    if keras_style:  # a peer writes the archives into ".", its child's working directory: a new one each run
        table = json.dumps([{"filename": a.filename, "kind": a.kind} for a in setup.archives])
        contenders["keras_style"] = (sys.executable, ["keras-style", archives_url, table, "."])
    if torchvision_python:
        contenders["torchvision"] = (str(torchvision_python), ["torchvision", archives_url, "."])
    found: dict[str, Any] = {"datasets_import_seconds": None, "first_uses": {}, "cold_ratios": {}}
    for link in links:
        hub.front.link, at = link, describe(link)
        seconds: dict[str, list[float]] = {name: [] for name in contenders}
        counts: dict[str, Mapping[str, int]] = {}  # the last run's requests by kind, and connections
        for name, (python, command) in [*contenders.items()] * setup.repeat:  # taking turns
            hub.front.reset_counts()
            answer = run_child(command, hub.endpoint, setup.work, python)
            if answer["rows"] != expected_rows:
                raise RuntimeError(f"{name} saw {answer['rows']} examples at {at}, not {expected_rows}")
            seconds[name].append(answer["seconds"])
            counts[name] = hub.front.counts
            found["datasets_import_seconds"] = answer.get("import_seconds", found["datasets_import_seconds"])
        uses = {
            name: FirstUse(
                statistics.median(seconds[name]), runs.request_count(counts[name]), counts[name]["connections"]
            )
            for name in contenders
        }
        found["first_uses"][at] = uses
        found["cold_ratios"][at] = {k: uses[k].seconds / uses[f"{k}_one_file"].seconds for k in CONFIG_KEYS.values()}
    return found


def hub_streaming(
    hub: LocalHub, setup: Setup, latencies: Sequence[float], workers: Sequence[int], *, with_one_file: bool
) -> dict[str, Any]:
    """`NetworkFigures`' stream fields: the card's streams from the far Hub, and from local files taking turns with
    them in the same child: a local rate from another process differed by up to a third on a quiet machine."""
    sources = {"hub_": layout.REPO_ID, "": str(setup.repo)}  # by infix, in names `{config}_{infix}{workers}w`
    sources |= {"hub_one_file_": ONE_FILE_REPO_ID} if with_one_file else {}
    twins = {f"{key}_{count}w": f"{key}_hub_{count}w" for key in CONFIG_KEYS.values() for count in workers}
    found: dict[str, Any] = {"hub_stream_rates": {}, "hub_stream_requests": {}, "local_stream_rates": {}}
    for latency in latencies:
        hub.front.link = Link(latency)
        streams = [  # the child's runs, local files' at the first latency only
            {"name": f"{key}_{infix}{count}w", "repo": source, "config": config, "workers": count}
            for config, key in CONFIG_KEYS.items()
            for count in workers
            for infix, source in sources.items()
            if infix or latency == latencies[0]
        ]
        command = ["stream-epochs", json.dumps(streams), str(setup.repeat), hub.endpoint + COUNTS_PATH]
        answer = run_child(command, hub.endpoint, setup.work)
        rates = {name: rows / answer["seconds"][name] for name, rows in answer["rows"].items()}
        at = f"{latency * 1000:g} ms"
        found["hub_stream_rates"][at] = {name: rate for name, rate in rates.items() if name not in twins}
        found["hub_stream_requests"][at] = {name: answer["requests"][name] for name in found["hub_stream_rates"][at]}
        found["local_stream_rates"] |= {name: rate for name, rate in rates.items() if name in twins}
    at_zero, local = found["hub_stream_rates"].get("0 ms", {}), found["local_stream_rates"]
    found["hub_stream_ratios"] = {name: at_zero[twin] / local[name] for name, twin in twins.items() if twin in at_zero}
    return found


def measure(setup: Setup) -> NetworkFigures:
    """Cold first uses and Hub streams at the run's links (`setup.long`: the whole grid)."""
    if setup.archive_dir is None:
        raise Unavailable("no local copy of the archives to serve beside the copy (pass --data-dir)")
    if not OLAH_CLI.exists():
        raise Unavailable("olah is not installed (it comes with the `test` extra)")
    extent = "long" if setup.long else "default"
    with far_hub(setup, pathlib.Path(tempfile.mkdtemp(prefix="far-hub-", dir=setup.work))) as hub:
        cold = cold_first_use(hub, COLD_LINKS[extent], setup, keras_style=setup.long,
                              torchvision_python=setup.torchvision_python)  # fmt: skip
        streams = hub_streaming(hub, setup, STREAM_LATENCIES[extent], STREAM_WORKERS[extent], with_one_file=setup.long)
    return NetworkFigures(**cold, **streams)


def first_use_table(f: NetworkFigures) -> str:
    """Cold first uses, a row per link and config; the peers' columns where the run timed them."""
    files = " / ".join(f"{count} {split}" for split, count in fashion_mnist.NUM_SHARDS.items())
    peers = [name for name in PEERS if name in next(iter(f.first_uses.values()), {})]
    header = ["link", "config", f"this copy ({files} files)", "one file a split", "ratio", "target"]
    header += [PEERS[name] for name in peers] + (["ratio to Keras-style"] if "keras_style" in peers else [])
    rows = []
    for link, uses in f.first_uses.items():
        cell = {k: f"{use.seconds:.2f} s ({use.requests} req., {use.connections} conn.)" for k, use in uses.items()}
        for config, name in CONFIG_KEYS.items():
            judged = report.judged(f, ("network", "cold_ratios", link, name))
            keras = [report.ratio(uses[name].seconds / uses["keras_style"].seconds)] if "keras_style" in peers else []
            cells = [link, f"`{config}`", cell[name], cell[f"{name}_one_file"], *judged]
            rows.append(report.row(*cells, *(cell[peer] for peer in peers), *keras))
    return report.table(header, "llrrrl" + "r" * (len(header) - 6), rows)


def hub_stream_table(f: NetworkFigures) -> str:
    """Examples per second of the card's streams: local files, then the Hub at each latency, with requests."""
    latencies = list(f.hub_stream_rates)
    header = ("stream", "workers", "local files", *(f"Hub, {at}" for at in latencies), "Hub 0 ms / local", "target",
              "requests an epoch")  # fmt: skip
    rows = []
    for config, name in CONFIG_KEYS.items():
        for where, label in (("hub", f"`{config}`"), ("hub_one_file", f"`{config}`, one file a split")):
            for workers in STREAM_WORKERS["long"]:
                stream = f"{name}_{where}_{workers}w"
                rates = [f.hub_stream_rates[at].get(stream) for at in latencies]
                if not any(rates):
                    continue
                local = f"{name}_{workers}w" if where == "hub" else None  # local files, target: this layout's only
                ratio = f.hub_stream_ratios.get(local)
                rows.append(report.row(label, str(workers), report.rate(f.local_stream_rates.get(local)),
                                       *map(report.rate, rates), "" if ratio is None else report.ratio(ratio),
                                       report.verdict_if_target(("network", "hub_stream_ratios", local), ratio),
                                       str(f.hub_stream_requests[latencies[-1]].get(stream, ""))))  # fmt: skip
    return report.table(header, "lrr" + "r" * len(latencies) + "rlr", rows)


def table(f: NetworkFigures) -> str:
    """The section's tables, after the one figure they leave out."""
    caption = f"`import datasets` before each cold load: {f.datasets_import_seconds or 0:.2f} s, left out of its time."
    return "\n\n".join(filter(None, [caption, first_use_table(f), hub_stream_table(f)]))
