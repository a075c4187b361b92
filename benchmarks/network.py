"""First use over the network: a cold `load_dataset` and a streamed epoch from a Hub that seems far away.

Every user meets the copy through the Hub, over links where a request costs tens to
hundreds of milliseconds, and every Colab session or CI job starts with an empty cache.
Loopback figures hide all of that, so this section serves the copy from the tests' local
Hub (olah behind `local_hub`'s front) with a `Link` that holds each request one
round trip (and a new connection's handshake two more) and caps bandwidth per connection
or for all connections together. Against it, each in a fresh process with an empty
`HF_HOME`, as a new Colab session would be:

- a cold `load_dataset` of each config, in this copy's layout and with the same rows as
  one Parquet file per split (the older layout);
- with `--long`, a Keras-style first use (GET the four archives from the same server,
  gunzip, `np.frombuffer`) and a torchvision-style one (download to files, check MD5,
  gunzip to files, parse the IDX files to arrays);
- a streamed epoch of the card's recipe for each config, beside the same recipe reading
  local files in the same process, taking turns.

The front counts the requests and connections of each run. The runs themselves are
`benchmarks.network_runs`, a module that starts without `datasets` or torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import fashion_mnist
from benchmarks import network_runs as runs
from benchmarks import report
from benchmarks.harness import Figures, Setup
from scripts import layout

ONE_FILE_REPO_ID = "org/fashion_mnist_one_file"  # the same rows, one Parquet file per split
ARCHIVES_REPO_ID = (
    "org/fashion_mnist_archives"  # the four original .gz files, for the Keras- and torchvision-style runs
)
CONFIG_KEYS = {fashion_mnist.NAME: "image", fashion_mnist.PIXELS: "pixels"}
CHILD_TIMEOUT = 900.0  # seconds for one child run, far above any run seen
MB = 1_000_000


CONDITION_KEY = re.compile(r"(?P<ms>[\d.]+)ms(?:_(?P<mbps>[\d.]+)mbps_(?P<scope>percon|shared))?")


@dataclasses.dataclass(frozen=True)
class Condition:
    """One network condition: a round trip in seconds, and a bandwidth cap per connection or shared."""

    latency: float
    bytes_per_second: float | None = None
    shared_cap: bool = False

    @property
    def key(self) -> str:
        """The condition in figure names: `100ms`, `100ms_100mbps_percon`, `50ms_100mbps_shared`."""
        if not self.bytes_per_second:
            return f"{self.latency * 1000:g}ms"
        scope = "shared" if self.shared_cap else "percon"
        return f"{self.latency * 1000:g}ms_{self.bytes_per_second * 8 / MB:g}mbps_{scope}"

    @classmethod
    def from_key(cls, key: str) -> Condition:
        match = CONDITION_KEY.fullmatch(key)
        if not match:
            raise ValueError(f"not a condition key: {key!r}")
        cap = float(match["mbps"]) * MB / 8 if match["mbps"] else None
        return cls(float(match["ms"]) / 1000, cap, match["scope"] == "shared")

    def describe(self) -> str:
        if not self.bytes_per_second:
            return f"{self.latency * 1000:g} ms, no cap"
        scope = "shared by all connections" if self.shared_cap else "per connection"
        return f"{self.latency * 1000:g} ms, {self.bytes_per_second * 8 / MB:g} Mbit/s {scope}"


# A 100 Mbit/s link: per connection (what one TCP stream gets from a far server), or the user's whole line.
CAP = 12.5 * MB
AIM_CONDITION = Condition(0.1, CAP)  # where parallel files should win clearly: a far server, each stream capped
COLD_CONDITIONS = {
    "default": (AIM_CONDITION,),  # a fresh process per run: the grid costs minutes, so it is `--long`'s
    "long": tuple(Condition(latency, CAP, shared) for latency in (0.0, 0.05, 0.1) for shared in (False, True)),
}
STREAM_LATENCIES = {"default": (0.0,), "long": (0.0, 0.05, 0.1)}
STREAM_WORKERS = {"default": (2,), "long": (0, 1, 2)}


# --- The Hub that seems far away ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FarHub:
    """The local Hub serving this copy, its one-file twin and the archives; `front` sets the link and counts."""

    endpoint: str
    front: Any  # local_hub.RangeFront

    @property
    def counts_url(self) -> str:
        from local_hub import COUNTS_PATH

        return self.endpoint + COUNTS_PATH

    def url_of_archives(self) -> str:
        return f"{self.endpoint}/datasets/{ARCHIVES_REPO_ID}/resolve/main/"


@contextlib.contextmanager
def far_hub(
    repo: pathlib.Path,
    one_file: pathlib.Path,
    archive_dir: pathlib.Path,
    archives: Sequence[fashion_mnist.Archive],
    root: pathlib.Path,
) -> Iterator[FarHub]:
    """Serve what the push uploads of `repo` and of `one_file`, and the archives, from one local Hub."""
    from local_hub import LocalHub
    from scripts.push_to_hub import upload_set

    root.mkdir(parents=True, exist_ok=True)
    with LocalHub(root) as hub:
        copy = upload_set(repo)
        hub.publish(layout.REPO_ID, copy)
        hub.publish(ONE_FILE_REPO_ID, one_file_upload_set(copy, one_file))
        hub.publish(ARCHIVES_REPO_ID, {a.filename: archive_dir / a.filename for a in archives})
        yield FarHub(hub.endpoint, hub.front)


def one_file_upload_set(copy: Mapping[str, pathlib.Path], one_file: pathlib.Path) -> dict[str, pathlib.Path]:
    """The copy's upload set with its shards replaced by the one-file layout's (the card's globs match both)."""
    kept = {path: local for path, local in copy.items() if not path.endswith(".parquet")}
    shards = {path.relative_to(one_file).as_posix(): path for path in sorted(one_file.rglob("*.parquet"))}
    return kept | shards


def set_condition(hub: FarHub, condition: Condition) -> None:
    from local_hub import Link

    hub.front.link = Link(
        condition.latency, bytes_per_second=condition.bytes_per_second, shared_cap=condition.shared_cap
    )


# --- Runs in fresh processes -----------------------------------------------------------------


def run_child(command: Sequence[str], endpoint: str, work: pathlib.Path) -> dict[str, Any]:
    """Run `python -m benchmarks.network_runs COMMAND...` with an empty HF_HOME pointed at `endpoint`; its answer."""
    home = tempfile.mkdtemp(prefix="hf-home-", dir=work)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))},
        "HF_HOME": home,
        "HF_ENDPOINT": endpoint,
        "PYTHONPATH": str(layout.PROJECT_ROOT),  # `-m benchmarks.network_runs` from the checkout, run in `home`
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.network_runs", *command],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def archive_table(archives: Sequence[fashion_mnist.Archive]) -> str:
    """What the Keras- and torchvision-style runs need to know of the archives, as JSON."""
    return json.dumps([{"filename": a.filename, "kind": a.kind, "gz_md5": a.gz_md5} for a in archives])


# --- The measurements ------------------------------------------------------------------------


def cold_first_use(
    hub: FarHub,
    conditions: Sequence[Condition],
    repeat: int,
    work: pathlib.Path,
    archives: Sequence[fashion_mnist.Archive],
    *,
    with_peers: bool = True,
) -> Figures:
    """Seconds and requests of each first use at each condition: medians of `repeat` runs taking turns.

    `with_peers` adds the Keras- and torchvision-style downloads of the archives. Each run must
    see every example (each split's rows, or the archives' labels), or the section fails.
    """
    expected_rows = sum(a.num_examples for a in archives if a.kind == "labels")
    contenders: dict[str, list[str]] = {}
    for config, key in CONFIG_KEYS.items():
        contenders[f"{key}"] = ["cold-load", layout.REPO_ID, config]
        contenders[f"{key}_one_file"] = ["cold-load", ONE_FILE_REPO_ID, config]
    if with_peers:
        contenders["keras_style"] = ["keras-style", hub.url_of_archives(), archive_table(archives)]
        contenders["torchvision_style"] = ["torchvision-style", hub.url_of_archives(), archive_table(archives)]
    figures: Figures = {}
    for condition in conditions:
        set_condition(hub, condition)
        seconds: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(repeat):
            for name, command in contenders.items():
                scratch = tempfile.mkdtemp(prefix="first-use-", dir=work)
                command = [*command, scratch] if command[0] != "cold-load" else command
                hub.front.reset_counts()
                answer = run_child(command, hub.endpoint, work)
                counts = hub.front.counts
                if answer["rows"] != expected_rows:
                    raise RuntimeError(
                        f"{name} saw {answer['rows']} examples at {condition.describe()}, not {expected_rows}"
                    )
                seconds[name].append(answer["seconds"])
                figures[f"cold_requests_{name}_{condition.key}"] = runs.request_count(counts)
                figures[f"cold_connections_{name}_{condition.key}"] = counts["connections"]
                if "import_seconds" in answer:
                    figures["datasets_import_seconds"] = answer["import_seconds"]
        for name, values in seconds.items():
            figures[f"cold_seconds_{name}_{condition.key}"] = statistics.median(values)
        for key in CONFIG_KEYS.values():
            mine = figures[f"cold_seconds_{key}_{condition.key}"]
            figures[f"cold_ratio_{key}_{condition.key}"] = (
                mine / figures[f"cold_seconds_{key}_one_file_{condition.key}"]
            )
            if with_peers:
                keras = figures[f"cold_seconds_keras_style_{condition.key}"]
                figures[f"cold_ratio_{key}_vs_keras_{condition.key}"] = mine / keras
    return figures


def hub_streaming(
    hub: FarHub,
    repo: pathlib.Path,
    latencies: Sequence[float],
    workers: Sequence[int],
    repeat: int,
    work: pathlib.Path,
    *,
    with_one_file: bool = False,
) -> Figures:
    """Examples per second of the card's streams from the far Hub, and from local files in the same child at 0 ms.

    The local runs take turns with the Hub's in one process: a local rate from another process
    (the epochs section's) differed from this one's by up to a third between runs on a quiet machine.
    `with_one_file` streams the one-file layout from the Hub too.
    """
    figures: Figures = {}
    sources = {"hub": layout.REPO_ID, "local": str(repo)} | (
        {"hub_one_file": ONE_FILE_REPO_ID} if with_one_file else {}
    )
    for latency in latencies:
        set_condition(hub, Condition(latency))
        streams = [
            {"name": f"{key}_{where}_{count}w", "repo": source, "config": config, "workers": count}
            for config, key in CONFIG_KEYS.items()
            for count in workers
            for where, source in sources.items()
            if where != "local" or latency == latencies[0]
        ]
        command = ["stream-epochs", json.dumps(streams), str(repeat), hub.counts_url]
        answer = run_child(command, hub.endpoint, work)
        condition = Condition(latency).key
        for name, seconds in answer["seconds"].items():
            rate = answer["rows"][name] / seconds
            if "_local_" in name:
                figures[f"stream_rate_{name}"] = rate
            else:
                figures[f"hub_stream_rate_{name}_{condition}"] = rate
                figures[f"hub_stream_requests_{name}_{condition}"] = answer["requests"][name]
    for key in CONFIG_KEYS.values():
        for count in workers:
            local = figures.get(f"stream_rate_{key}_local_{count}w")
            hub_rate = figures.get(f"hub_stream_rate_{key}_hub_{count}w_{Condition(0.0).key}")
            if local and hub_rate:
                figures[f"hub_stream_ratio_{key}_{count}w_0ms"] = hub_rate / local
    return figures


# --- The section -----------------------------------------------------------------------------


def measure(setup: Setup) -> Figures:
    """The section: cold first uses and Hub streams at the run's conditions (`setup.long` for the whole grid)."""
    if setup.archive_dir is None:
        setup.unavailable["network"] = "no local copy of the archives to serve beside the copy (pass --data-dir)"
        return {}
    from local_hub import OLAH_CLI

    if not OLAH_CLI.exists():
        setup.unavailable["network"] = "olah is not installed (it comes with the `test` extra)"
        return {}
    extent = "long" if setup.long else "default"
    root = pathlib.Path(tempfile.mkdtemp(prefix="far-hub-", dir=setup.work))
    with far_hub(setup.repo, setup.one_shard, setup.archive_dir, setup.archives, root) as hub:
        figures = cold_first_use(
            hub, COLD_CONDITIONS[extent], setup.repeat, setup.work, setup.archives, with_peers=extent == "long"
        )
        streams = hub_streaming(
            hub,
            setup.repo,
            STREAM_LATENCIES[extent],
            STREAM_WORKERS[extent],
            setup.repeat,
            setup.work,
            with_one_file=extent == "long",
        )
    return figures | streams


# --- Report --------------------------------------------------------------------------------------


def _verdict(results: Mapping[str, Any], key: str) -> str:
    return report.verdict_if_target(results, key) if key in results else ""


def _first_use(results: Mapping[str, Any], name: str, condition: str) -> str:
    seconds = results.get(f"cold_seconds_{name}_{condition}")
    if seconds is None:
        return ""
    requests = results.get(f"cold_requests_{name}_{condition}")
    connections = results.get(f"cold_connections_{name}_{condition}")
    return f"{seconds:.2f} s ({requests:.0f} req., {connections:.0f} conn.)"


def first_use_table(results: Mapping[str, Any]) -> str:
    """Cold first uses, a row per condition and config; the peers' columns where `--long` timed them."""
    prefix = "cold_seconds_image_one_file_"
    conditions = [Condition.from_key(key.removeprefix(prefix)) for key in results if key.startswith(prefix)]
    if not conditions:
        return ""
    peers = any(key.startswith("cold_seconds_keras_style_") for key in results)
    files = " / ".join(f"{count} {split}" for split, count in fashion_mnist.NUM_SHARDS.items())
    rows = [
        f"| link | config | this copy ({files} files) | one file a split | ratio | target "
        + ("| Keras-style (4 archives) | ratio to it | torchvision-style |" if peers else "|"),
        "|---|---|---:|---:|---:|---|" + ("---:|---:|---:|" if peers else ""),
    ]
    for condition in conditions:
        key = condition.key
        for config, name in CONFIG_KEYS.items():
            ratio = results.get(f"cold_ratio_{name}_{key}")
            row = (
                f"| {condition.describe()} | `{config}` | {_first_use(results, name, key)} "
                f"| {_first_use(results, f'{name}_one_file', key)} | {ratio:.2f} "
                f"| {_verdict(results, f'cold_ratio_{name}_{key}')} |"
            )
            if peers:
                keras = results.get(f"cold_ratio_{name}_vs_keras_{key}")
                row += (
                    f" {_first_use(results, 'keras_style', key)} | {keras:.2f} "
                    f"| {_first_use(results, 'torchvision_style', key)} |"
                )
            rows.append(row)
    return "\n".join(rows)


def hub_stream_table(results: Mapping[str, Any]) -> str:
    """Examples per second of the card's streams: local files, then the Hub at each latency, with requests."""
    rates = [key for key in results if key.startswith("hub_stream_rate_")]
    latencies = [lat for lat in STREAM_LATENCIES["long"] if any(k.endswith(f"_{Condition(lat).key}") for k in rates)]
    if not latencies:
        return ""
    head = " | ".join(f"Hub, {lat * 1000:g} ms" for lat in latencies)
    rows = [f"| stream | workers | local files | {head} | Hub 0 ms / local | target | requests an epoch |"]
    rows.append("|---|---:|---:|" + "---:|" * len(latencies) + "---:|---|---:|")
    for config, name in CONFIG_KEYS.items():
        for where, label in (("hub", f"`{config}`"), ("hub_one_file", f"`{config}`, one file a split")):
            for workers in STREAM_WORKERS["long"]:
                hub = [
                    results.get(f"hub_stream_rate_{name}_{where}_{workers}w_{Condition(lat).key}") for lat in latencies
                ]
                if not any(hub):
                    continue
                mine = where == "hub"  # the local run and the target belong to this copy's own layout
                local = results.get(f"stream_rate_{name}_local_{workers}w") if mine else None
                ratio_key = f"hub_stream_ratio_{name}_{workers}w_0ms"
                ratio = results.get(ratio_key) if mine else None
                requests = results.get(f"hub_stream_requests_{name}_{where}_{workers}w_{Condition(latencies[-1]).key}")
                cells = " | ".join("" if rate is None else f"{rate:,.0f}" for rate in hub)
                rows.append(
                    f"| {label} | {workers} | {'' if local is None else f'{local:,.0f}'} | {cells} "
                    f"| {'' if ratio is None else f'{ratio:.2f}'} | {_verdict(results, ratio_key) if mine else ''} "
                    f"| {'' if requests is None else f'{requests:.0f}'} |"
                )
    return "\n".join(rows)


def table(results: Mapping[str, Any]) -> str:
    """The section's part of the card's Performance block; empty if it measured nothing."""
    first_use, streams = first_use_table(results), hub_stream_table(results)
    if not first_use and not streams:
        return ""
    imported = results.get("datasets_import_seconds")
    caption = f"`import datasets` before each cold load: {imported or 0:.2f} s, left out of its time."
    return "\n\n".join(filter(None, [caption, first_use, streams]))
