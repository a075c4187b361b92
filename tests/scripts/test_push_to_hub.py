"""scripts/push_to_hub.py end to end: real `HfApi` writes into a local Hub, and reads back through olah.

The Hub's write API is answered by `local_hub.write_api.WritableHub` (a test double:
no open-source server implements it), which applies each commit to the git repository
that olah serves; every read (the plan's file list, `load_dataset`) goes to olah. The
push runs its real code path: `create_repo`, then one `create_commit` (preupload, LFS
batch, PUT, verify, NDJSON commit with `parent_commit`). huggingface_hub uses Xet when
`hf_xet` is installed; the front speaks the LFS protocol, so Xet is switched off here.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import itertools
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import NamedTuple

import datasets
import huggingface_hub
import numpy as np
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.utils import _http

import fashion_mnist
from local_hub import clients_pointed_at, free_port, write_api
from local_hub.write_api import Received, WritableHub
from scripts import build, layout, push_to_hub, repo_lock
from tests.helpers.synthetic import make_arrays, read_idx_gz

TOKEN = "hf_local_write_front_token"  # the only token the front accepts for writes
SECRET = b"HF_TOKEN=hf_a_secret_outside_the_repo\n"
CLI_TIMEOUT = 300  # seconds
_names = itertools.count()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WritableHub]:
    with WritableHub(tmp_path_factory.mktemp("writable_hub"), token=TOKEN) as writable:
        yield writable


@pytest.fixture
def endpoint(hub: WritableHub) -> Iterator[str]:
    """Clients (this process and children) pointed at the writable Hub, uploading over LFS rather than Xet."""
    with (
        clients_pointed_at(hub.endpoint),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("HF_HUB_DISABLE_XET", "1")
        patch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        yield hub.endpoint


@pytest.fixture
def repo_id(request: pytest.FixtureRequest) -> str:
    """A fresh, empty remote for each test."""
    return f"org/{request.node.originalname.removeprefix('test_')[:60]}-{next(_names)}"


def api() -> HfApi:
    return HfApi(token=TOKEN)


def rebuild(repo: pathlib.Path, table: tuple, monkeypatch: pytest.MonkeyPatch, train: int, test: int) -> None:
    """Build the same archives again into `repo`, cut into other shard counts."""
    monkeypatch.setitem(fashion_mnist.NUM_SHARDS, "train", train)
    monkeypatch.setitem(fashion_mnist.NUM_SHARDS, "test", test)
    data_dir = repo.parent / "archives"
    build.build_repo(repo, num_proc=1, data_dir=str(data_dir), mirrors=[], system_dirs=[], archives=table)


class RebuiltAfterPush(NamedTuple):
    """A remote that holds one push of the synthetic build, and the local copy rebuilt since: something to commit."""

    repo: pathlib.Path
    table: tuple
    head: str  # the remote's main after that push
    remote_before: dict[str, bytes]  # the remote's files after that push: what a failed push must leave


@pytest.fixture
def rebuilt_after_push(
    synthetic_repo: tuple[pathlib.Path, tuple],
    hub: WritableHub,
    endpoint: str,
    repo_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> RebuiltAfterPush:
    """Push the synthetic build once (through `endpoint`, like the test), then rebuild it into 4 train and 1 test
    shards, so that the test's push has something to commit on top of a remote that already holds a copy."""
    repo, table = synthetic_repo
    head = push_to_hub.push(repo_id, repo, api=api(), archives=table).commit.oid
    remote_before = hub.files(repo_id)
    rebuild(repo, table, monkeypatch, train=4, test=1)
    return RebuiltAfterPush(repo, table, head, remote_before)


def remote_is(hub: WritableHub, repo_id: str, repo: pathlib.Path, revision: str = "main") -> None:
    """The remote at `revision` holds exactly the upload set's bytes (plus the Hub's `.gitattributes`)."""
    expected = {path: local.read_bytes() for path, local in push_to_hub.upload_set(repo).items()}
    files = hub.files(repo_id, revision)
    assert files.pop(".gitattributes").startswith(b"*.parquet filter=lfs")
    assert sorted(files) == sorted(expected)
    assert all(files[path] == expected[path] for path in expected)


def loads_as(repo_id: str, arrays: dict[str, np.ndarray], cache: pathlib.Path, revision: str | None = None) -> None:
    """`load_dataset` through the local Hub gives every image and label of the archives, pixel for pixel."""
    loaded = datasets.load_dataset(repo_id, revision=revision, cache_dir=str(cache))
    assert sorted(loaded) == ["test", "train"]
    for split, dataset in loaded.items():
        assert dataset.features == fashion_mnist.FEATURES[fashion_mnist.NAME]
        images, labels = (
            arrays[archive.filename]
            for kind in ("images", "labels")
            for archive in fashion_mnist.ARCHIVES
            if (archive.split, archive.kind) == (split, kind)
        )
        everything = dataset.with_format("numpy")[:]
        np.testing.assert_array_equal(everything["image"], images)
        np.testing.assert_array_equal(everything["label"], labels)


def run_cli(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh process: huggingface_hub's own endpoint and token resolution, from `env`."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.push_to_hub", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def closed_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"


# --- What is uploaded -------------------------------------------------------------------


def test_upload_set_is_what_the_cards_configs_name_and_never_code(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, _ = synthetic_repo
    for stray in ("fashion_mnist.py", "scripts/build.py", "tests/test_x.py", "data/notes.txt", ".build-x/a.parquet"):
        (repo / stray).parent.mkdir(parents=True, exist_ok=True)
        (repo / stray).write_text("not for the Hub\n", encoding="utf-8")
    (repo / "data" / "extra").mkdir()
    (repo / "data" / "extra" / "x.parquet").write_bytes(b"PAR1")  # no config names it
    # A further config with its own shard directory needs no change in the push.
    card = (repo / layout.CARD).read_text(encoding="utf-8")
    other = "- config_name: other\n  data_files:\n  - split: train\n    path: other/train-*\n"
    (repo / layout.CARD).write_text(card.replace("configs:\n", f"configs:\n{other}", 1), encoding="utf-8")
    (repo / "other").mkdir()
    (repo / "other" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")

    selected = push_to_hub.upload_set(repo)

    shards = [
        layout.shard_path(config, split, index, count)
        for config in fashion_mnist.FEATURES
        for split, count in sorted(fashion_mnist.NUM_SHARDS.items())
        for index in range(count)
    ]
    expected = sorted(
        [
            "README.md",
            "data/checksums.json",
            "data/preview.png",
            *shards,
            "dataset_infos.json",
            "other/train-00000-of-00001.parquet",
        ]
    )
    source = f"{layout.SOURCE_DIR}/"
    assert [path for path in selected if not path.startswith(source)] == expected
    assert all(selected[path] == repo / path for path in expected)
    assert not [path for path in selected if path.endswith(".py") and not path.startswith(source)], "code at the root"


def test_the_source_tree_goes_under_source_as_git_tracks_it() -> None:
    tracked = subprocess.run(
        ["git", "-C", str(layout.PROJECT_ROOT), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    source = push_to_hub.source_files(layout.PROJECT_ROOT)
    assert sorted(source) == sorted(f"source/{path}" for path in tracked if path not in (layout.CARD, layout.INFOS))
    assert source["source/fashion_mnist.py"] == layout.PROJECT_ROOT / "fashion_mnist.py"
    assert "source/MAINTAINING.md" in source and not any("/data/" in path for path in source)


def test_a_source_tree_outside_git_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(push_to_hub.PushError, match=r"cannot list the source tree with `git ls-files`.*git clone"):
        push_to_hub.source_files(tmp_path)


def test_a_symlink_in_the_source_tree_is_refused(
    synthetic_repo: tuple[pathlib.Path, tuple], tmp_path: pathlib.Path
) -> None:
    repo, _ = synthetic_repo
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the Hub\n", encoding="utf-8")
    (checkout / "notes.txt").symlink_to(secret)
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "add", "notes.txt"], check=True)
    files = push_to_hub.upload_set(repo, source_root=checkout)
    assert "source/notes.txt" in files
    with pytest.raises(push_to_hub.PushError, match=r"source/notes\.txt: notes\.txt is a symbolic link"):
        push_to_hub.check_upload_set(repo, files, source_root=checkout)


def test_upload_set_needs_a_build(tmp_path: pathlib.Path) -> None:
    missing = r"README\.md, dataset_infos\.json, data/preview\.png, data/checksums\.json not found"
    with pytest.raises(push_to_hub.PushError, match=missing):
        push_to_hub.upload_set(tmp_path)


# --- Round trips through the writable local Hub --------------------------------------------


def test_cli_round_trip_of_the_real_build(
    real_repo: pathlib.Path, real_archives: pathlib.Path, hub: WritableHub, endpoint: str, tmp_path: pathlib.Path
) -> None:
    """Dry run, push into an empty remote, load back losslessly. The token comes from stdin or a file, never shows."""
    repo_id = "org/fashion_mnist"
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    start = len(hub.received)

    dry = run_cli(repo_id, "--repo-dir", str(real_repo), "--dry-run", "--token-file", "-", stdin=f"{TOKEN}\n")
    assert dry.returncode == 0, dry.stderr
    assert f"Repo not found: datasets/{repo_id} does not exist at {endpoint}" in dry.stdout
    uploads = len(push_to_hub.upload_set(real_repo))
    assert f"datasets/{repo_id}@main at {endpoint}: {uploads} to upload, 0 to delete, 0 unchanged" in dry.stdout
    reads = hub.received[start:]
    assert reads and not any(request.route for request in reads)
    api_reads = [request for request in reads if request.path.startswith("/api/")]  # not the reachability probe
    assert {_header(request, "Authorization") for request in api_reads} == {f"Bearer {TOKEN}"}  # from stdin
    start = len(hub.received)

    pushed = run_cli(repo_id, "--repo-dir", str(real_repo), "--token-file", str(token_file))
    assert pushed.returncode == 0, pushed.stderr
    head = hub.ref(repo_id, "refs/heads/main")
    assert pushed.stdout.splitlines()[-1] == f"Pushed in one commit: {endpoint}/datasets/{repo_id}/commit/{head}"
    assert hub.visibility[repo_id] == "public"
    assert _git_log(hub, repo_id) == [push_to_hub.DEFAULT_MESSAGE, "initial commit"]  # create_repo's, then ours
    remote_is(hub, repo_id, real_repo)
    writes = [request for request in hub.received[start:] if request.route not in (None, "lfs_upload")]
    assert {_header(request, "Authorization") for request in writes} == {f"Bearer {TOKEN}"}  # from the file
    for done in (dry, pushed):
        assert TOKEN not in done.stdout + done.stderr

    arrays = {a.filename: read_idx_gz((real_archives / a.filename).read_bytes()) for a in fashion_mnist.ARCHIVES}
    loads_as(repo_id, arrays, tmp_path / "cache")


def test_second_push_with_nothing_changed_sends_no_write(
    synthetic_repo: tuple[pathlib.Path, tuple], hub: WritableHub, endpoint: str, repo_id: str
) -> None:
    repo, table = synthetic_repo
    first = push_to_hub.push(repo_id, repo, api=api(), archives=table)
    start = len(hub.received)

    second = push_to_hub.push(repo_id, repo, api=api(), archives=table)

    assert second.commit is None
    assert second.plan.unchanged == tuple(push_to_hub.upload_set(repo))
    assert [request.route for request in hub.received[start:] if request.route] == []
    assert hub.ref(repo_id, "refs/heads/main") == first.commit.oid


def test_rebuild_with_other_shard_counts_is_one_commit_that_deletes_the_stale_shards(
    synthetic_repo: tuple[pathlib.Path, tuple],
    hub: WritableHub,
    endpoint: str,
    repo_id: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
) -> None:
    repo, table = synthetic_repo
    today = dict(fashion_mnist.NUM_SHARDS)
    rebuild(repo, table, monkeypatch, train=8, test=2)  # the layout the Hub copy had before 16 files a split
    before = push_to_hub.push(repo_id, repo, api=api(), archives=table).commit.oid
    old_shards = {path for path in push_to_hub.upload_set(repo) if path.endswith(".parquet")}
    rebuild(repo, table, monkeypatch, **today)
    new_shards = {path for path in push_to_hub.upload_set(repo) if path.endswith(".parquet")}

    result = push_to_hub.push(repo_id, repo, api=api(), archives=table)

    assert result.plan.deletions == tuple(sorted(old_shards - new_shards))
    # the preview is the same sprite
    assert set(result.plan.additions) == new_shards | {layout.CARD, layout.INFOS, layout.CHECKSUMS}
    head = hub.ref(repo_id, "refs/heads/main")
    assert head == result.commit.oid
    assert _git_parents(hub, repo_id, head) == [before]  # one commit on top of the last push
    remote_is(hub, repo_id, repo)
    loads_as(repo_id, make_arrays(), tmp_path / "cache")


def test_commit_landing_between_plan_and_commit_is_refused_and_the_remote_keeps_it(
    rebuilt_after_push: RebuiltAfterPush, hub: WritableHub, repo_id: str
) -> None:
    repo, table, _, remote_before = rebuilt_after_push
    other = {}

    def someone_else_commits() -> None:  # runs when the push starts uploading, after its plan
        info = api().upload_file(
            path_or_fileobj=b"notes\n", path_in_repo="NOTES.md", repo_id=repo_id, repo_type="dataset"
        )
        other["oid"] = info.oid

    hub.on_next("preupload", someone_else_commits)

    with pytest.raises(push_to_hub.PushError, match=r"changed while this push was uploading.*HTTP 412.*run the push"):
        push_to_hub.push(repo_id, repo, api=api(), archives=table)

    assert hub.ref(repo_id, "refs/heads/main") == other["oid"]
    assert hub.files(repo_id) == {**remote_before, "NOTES.md": b"notes\n"}  # theirs only, nothing of ours

    rerun = push_to_hub.push(repo_id, repo, api=api(), archives=table)
    assert _git_parents(hub, repo_id, rerun.commit.oid) == [other["oid"]]
    assert hub.files(repo_id)["NOTES.md"] == b"notes\n"  # outside the shard directories: left alone


def test_upload_cut_off_half_way_leaves_the_remote_unchanged_and_a_rerun_succeeds(
    rebuilt_after_push: RebuiltAfterPush,
    hub: WritableHub,
    repo_id: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
) -> None:
    repo, table, head, remote_before = rebuilt_after_push
    # huggingface_hub retries a failed PUT 5 times, waiting 1+2+4+8+8 s; the same retries, without the waits.
    monkeypatch.setattr(huggingface_hub.lfs, "http_backoff", functools.partial(_http.http_backoff, base_wait_time=0))
    hub.cut_uploads(1000)  # every attempt dies half-way through the body
    start = len(hub.received)

    with pytest.raises(
        push_to_hub.PushError, match=r"Lost the connection to the Hub .* Nothing was committed: .* run the push again"
    ):
        push_to_hub.push(repo_id, repo, api=api(), archives=table)

    cut = [request for request in hub.received[start:] if request.route == "lfs_upload (cut off)"]
    assert cut and all(len(request.body) > 0 for request in cut)
    assert not any(request.route == "commit" for request in hub.received[start:])
    assert hub.ref(repo_id, "refs/heads/main") == head
    assert hub.files(repo_id) == remote_before
    objects = hub.repo_dir(repo_id) / ".git" / "lfs" / "objects"
    assert all(layout.sha256_file(path) == path.name for path in objects.glob("*/*/*"))  # no partial object kept

    hub.cut_uploads(0)
    rerun = push_to_hub.push(repo_id, repo, api=api(), archives=table)
    assert _git_parents(hub, repo_id, rerun.commit.oid) == [head]
    remote_is(hub, repo_id, repo)
    loads_as(repo_id, make_arrays(), tmp_path / "cache")


def test_create_pr_opens_a_pr_ref_and_leaves_main_unchanged(
    rebuilt_after_push: RebuiltAfterPush, hub: WritableHub, endpoint: str, repo_id: str, tmp_path: pathlib.Path
) -> None:
    repo, table, head, remote_before = rebuilt_after_push

    result = push_to_hub.push(repo_id, repo, api=api(), archives=table, create_pr=True, message="Reshard")

    assert result.describe().endswith(f"Pushed in one commit: {endpoint}/datasets/{repo_id}/discussions/1")
    assert hub.ref(repo_id, "refs/pr/1") == result.commit.oid
    assert _git_parents(hub, repo_id, result.commit.oid) == [head]
    assert hub.ref(repo_id, "refs/heads/main") == head
    assert hub.files(repo_id) == remote_before
    remote_is(hub, repo_id, repo, revision="refs/pr/1")
    loads_as(repo_id, make_arrays(), tmp_path / "cache", revision=result.commit.oid)  # read through olah


def test_private_reaches_create_repo(
    synthetic_repo: tuple[pathlib.Path, tuple], hub: WritableHub, endpoint: str, repo_id: str
) -> None:
    repo, table = synthetic_repo
    start = len(hub.received)

    push_to_hub.push(repo_id, repo, api=api(), archives=table, private=True)

    [create] = [request for request in hub.received[start:] if request.route == "create_repo"]
    assert json.loads(create.body) == {
        "name": repo_id.split("/")[1],
        "organization": "org",
        "visibility": "private",
        "type": "dataset",
    }
    assert hub.visibility[repo_id] == "private"
    routes = [request.route for request in hub.received[start:] if request.route]
    assert routes[0] == "create_repo" and routes.count("commit") == 1


def test_push_to_a_branch_leaves_main_unchanged(
    rebuilt_after_push: RebuiltAfterPush, hub: WritableHub, repo_id: str
) -> None:
    repo, table, head, _ = rebuilt_after_push
    with pytest.raises(push_to_hub.PushError, match=f"Branch 'refresh' does not exist in datasets/{repo_id}"):
        push_to_hub.push(repo_id, repo, api=api(), archives=table, revision="refresh", dry_run=True)
    api().create_branch(repo_id, branch="refresh", repo_type="dataset")

    result = push_to_hub.push(repo_id, repo, api=api(), archives=table, revision="refresh")

    assert result.plan.head == head
    assert hub.ref(repo_id, "refs/heads/refresh") == result.commit.oid
    assert hub.ref(repo_id, "refs/heads/main") == head
    remote_is(hub, repo_id, repo, revision="refresh")


def test_dry_run_of_a_missing_repo_plans_every_file_and_writes_nothing(
    synthetic_repo: tuple[pathlib.Path, tuple], hub: WritableHub, endpoint: str, repo_id: str
) -> None:
    repo, table = synthetic_repo
    start = len(hub.received)

    result = push_to_hub.push(repo_id, repo, api=HfApi(token=False), dry_run=True, archives=table)  # no login needed

    assert [request.route for request in hub.received[start:] if request.route] == []
    assert not result.plan.repo_exists
    assert result.plan.additions == tuple(push_to_hub.upload_set(repo))
    assert result.describe().endswith("Dry run: nothing was changed.")


# --- Hub-side failures: one line that names the repo and what to do; the remote as it was -----

# huggingface_hub retries 429 and 5xx answers on some routes (preupload, LFS) 5 times, waiting 1+2+4+8+8 s;
# the faults below outlast the retries, which are kept, without the waits.
NO_WAIT_BACKOFF = functools.partial(_http.http_backoff, base_wait_time=0)
FAULTS = {
    "busy": ("commit", 409, "Another commit is in progress on this repo", {}, 1),
    "busy, before the upload": ("preupload", 409, "Another commit is in progress on this repo", {}, 1),
    "rate limited": ("commit", 429, "You have been rate-limited", {"Retry-After": "120"}, 1),
    "server error": ("commit", 500, "Internal Error", {}, 1),
    "server error, retried": ("preupload", 503, "Service Unavailable", {}, 6),
    "lost connection": ("commit", None, "", {}, 1),
    "lost connection while planning": (write_api.API_READ, None, "", {}, 1),
}
EXPECTED = {
    "busy": r"datasets/{repo} at {endpoint} is busy \(HTTP 409: Another commit is in progress on this repo\): "
    r"another operation on the repo is under way\. {unchanged} Wait a minute, then run the push again\.",
    "busy, before the upload": r"datasets/{repo} at {endpoint} is busy \(HTTP 409: Another commit is in progress "
    r"on this repo\): another operation on the repo is under way\. {unchanged} Wait a minute, then run the push "
    r"again\.",
    "rate limited": r"The Hub is rate-limiting requests \(HTTP 429: You have been rate-limited\) while pushing to "
    r"datasets/{repo} at {endpoint}\. {unchanged} Wait 120 s, then run the push again\.",
    "server error": r"The Hub failed with a server error \(HTTP 500: Internal Error\) while pushing to "
    r"datasets/{repo} at {endpoint}\. {unchanged} Run the push again in a few minutes; if it keeps failing, see "
    r"https://status\.huggingface\.co\.",
    "server error, retried": r"The Hub failed with a server error \(HTTP 503: Service Unavailable\) while pushing "
    r"to datasets/{repo} at {endpoint}\. {unchanged} Run the push again in a few minutes; .+",
    "lost connection": r"Lost the connection to the Hub while pushing to datasets/{repo} at {endpoint} "
    r"\(RemoteProtocolError: .+\)\. {unchanged} Check the network, then run the push again\.",
    "lost connection while planning": r"Lost the connection to the Hub while pushing to datasets/{repo} at "
    r"{endpoint} \(RemoteProtocolError: .+\)\. Nothing was sent: the remote is as it was\. Check the network, "
    r"then run the push again\.",
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_hub_failure_is_one_line_naming_the_repo_and_the_remote_is_as_it_was(
    rebuilt_after_push: RebuiltAfterPush,
    hub: WritableHub,
    endpoint: str,
    repo_id: str,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
) -> None:
    repo, table, head, remote_before = rebuilt_after_push
    monkeypatch.setattr(huggingface_hub._commit_api, "http_backoff", NO_WAIT_BACKOFF)
    route, status, message, headers, times = FAULTS[fault]
    hub.fail(route, status, message, headers=headers, times=times)
    start = len(hub.received)

    with pytest.raises(push_to_hub.PushError) as failed:
        push_to_hub.push(repo_id, repo, api=api(), archives=table)

    text = str(failed.value)
    unchanged = re.escape(push_to_hub.UNCHANGED)
    expected = EXPECTED[fault].format(repo=re.escape(repo_id), endpoint=re.escape(endpoint), unchanged=unchanged)
    assert re.fullmatch(expected, text), text
    assert "\n" not in text
    failed_requests = [request for request in hub.received[start:] if "(failed" in (request.route or "")]
    assert len(failed_requests) == times  # the fault was met, as many times as huggingface_hub asked
    assert not any(request.route == "commit" for request in hub.received[start:])  # none reached the repo
    assert hub.ref(repo_id, "refs/heads/main") == head
    assert hub.files(repo_id) == remote_before

    hub.fail(route, None, times=0)
    rerun = push_to_hub.push(repo_id, repo, api=api(), archives=table)  # what the message says to do works
    assert _git_parents(hub, repo_id, rerun.commit.oid) == [head]
    remote_is(hub, repo_id, repo)


@pytest.mark.parametrize("fault", ["busy, before the upload", "lost connection while planning"])
def test_cli_reports_a_hub_failure_in_one_line_without_a_traceback(
    real_repo: pathlib.Path, hub: WritableHub, endpoint: str, repo_id: str, fault: str
) -> None:
    """The real build (the CLI verifies against the real archives) into an existing, empty remote."""
    api().create_repo(repo_id, repo_type="dataset")
    head = hub.ref(repo_id, "refs/heads/main")
    route, status, message, headers, times = FAULTS[fault]
    hub.fail(route, status, message, headers=headers, times=times)

    done = run_cli(repo_id, "--repo-dir", str(real_repo), "--token-file", "-", stdin=TOKEN)

    assert done.returncode == 1
    [line] = done.stderr.splitlines()  # no traceback, no log lines: the message alone
    unchanged = re.escape(push_to_hub.UNCHANGED)
    expected = EXPECTED[fault].format(repo=re.escape(repo_id), endpoint=re.escape(endpoint), unchanged=unchanged)
    assert re.fullmatch("push_to_hub: " + expected, line), done.stderr
    assert hub.ref(repo_id, "refs/heads/main") == head
    assert hub.files(repo_id) == {".gitattributes": write_api.GITATTRIBUTES.encode()}


def test_copy_held_by_a_stuck_build_commit_is_refused_in_one_line(
    synthetic_repo: tuple[pathlib.Path, tuple], hub: WritableHub, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that holds the commit lock past `READ_WAIT`: the push names the lock and sends nothing."""
    repo, table = synthetic_repo
    monkeypatch.setattr(repo_lock, "READ_WAIT", 0.3)
    start = len(hub.received)
    descriptor = os.open(repo / repo_lock.COMMIT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # what a build holds while it commits
        with pytest.raises(push_to_hub.PushError) as refused:
            push_to_hub.push("org/busy", repo, api=api(), archives=table)
    finally:
        os.close(descriptor)

    assert str(refused.value) == (
        f"Refusing to push datasets/org/busy: {repo}: a build has been committing for over 0.3 s "
        f"({repo / repo_lock.COMMIT_LOCK} is held); check for a stuck scripts/build.py process. Nothing was sent."
    )
    assert hub.received[start:] == []


# --- Push safety: nothing leaves the machine unless it is the build's own ------------------


def _secret(tmp_path: pathlib.Path) -> pathlib.Path:
    secret = tmp_path / "outside" / "secrets.env"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    return secret


def _link_preview_to_a_secret(repo: pathlib.Path, tmp_path: pathlib.Path) -> str:
    (repo / layout.PREVIEW).unlink()
    (repo / layout.PREVIEW).symlink_to(_secret(tmp_path))
    return f"{layout.PREVIEW}: {layout.PREVIEW} is a symbolic link"


def _link_a_shard_to_its_own_copy_outside(repo: pathlib.Path, tmp_path: pathlib.Path) -> str:
    """The same bytes, so verification passes: only the link check can refuse it."""
    relative = layout.shard_path(fashion_mnist.NAME, "train", 3, fashion_mnist.NUM_SHARDS["train"])
    shard = repo / relative
    outside = _secret(tmp_path).with_name(shard.name)
    shutil.move(shard, outside)
    shard.symlink_to(outside)
    return f"{relative}: {relative} is a symbolic link"


def _link_the_data_directory(repo: pathlib.Path, tmp_path: pathlib.Path) -> str:
    outside = _secret(tmp_path).parent / "data"
    shutil.move(repo / layout.DATA_DIR, outside)
    (repo / layout.DATA_DIR).symlink_to(outside, target_is_directory=True)
    return f"{layout.PREVIEW}: data is a symbolic link"


@pytest.mark.parametrize(
    "plant", [_link_preview_to_a_secret, _link_a_shard_to_its_own_copy_outside, _link_the_data_directory]
)
def test_symlinks_are_refused_before_anything_is_sent(
    synthetic_repo: tuple[pathlib.Path, tuple],
    hub: WritableHub,
    endpoint: str,
    repo_id: str,
    tmp_path: pathlib.Path,
    plant: object,
) -> None:
    repo, table = synthetic_repo
    expected = plant(repo, tmp_path)
    start = len(hub.received)

    with pytest.raises(push_to_hub.PushError, match="Refusing to push") as refused:
        push_to_hub.push(repo_id, repo, api=api(), archives=table)

    assert expected in str(refused.value)
    assert "nothing was sent" in str(refused.value)
    assert hub.received[start:] == []  # not even a read
    assert not any(SECRET in request.body for request in hub.received)


def test_preview_that_is_not_the_builds_sprite_is_refused(
    synthetic_repo: tuple[pathlib.Path, tuple], hub: WritableHub, endpoint: str, repo_id: str, tmp_path: pathlib.Path
) -> None:
    """A regular file in place of the sprite (a secret copied in, not linked) fails verification: nothing is sent."""
    repo, table = synthetic_repo
    (repo / layout.PREVIEW).write_bytes(SECRET)
    start = len(hub.received)

    with pytest.raises(
        push_to_hub.PushError, match=r"(?s)Refusing to push: .*data/preview\.png: expected the build's PNG"
    ):
        push_to_hub.push(repo_id, repo, api=api(), archives=table)

    assert hub.received[start:] == []
    assert not any(SECRET in request.body for request in hub.received)


def test_cli_malformed_card_is_refused_with_its_file_and_line(
    synthetic_repo: tuple[pathlib.Path, tuple], hub: WritableHub, endpoint: str
) -> None:
    repo, _ = synthetic_repo
    card = repo / layout.CARD
    lines = card.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = lines.index("pretty_name: Fashion-MNIST\n")
    lines[broken] = "pretty_name: Fashion-MNIST: a colon\n"
    card.write_text("".join(lines), encoding="utf-8")
    start = len(hub.received)

    done = run_cli("org/any", "--repo-dir", str(repo), "--dry-run")

    assert done.returncode == 1
    assert (
        f"push_to_hub: Refusing to push: {card}, line {broken + 1}: the YAML front matter does not parse" in done.stderr
    )
    assert "Traceback" not in done.stderr
    assert hub.received[start:] == []


# --- The token: never from argv, never shown ----------------------------------------------


def test_there_is_no_token_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        push_to_hub.parse_args(["org/fashion_mnist", "--token", TOKEN])
    assert exited.value.code == 2
    assert "unrecognized arguments: --token" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "problem"), [("", "found nothing"), ("hf_a hf_b\n", "found several words")])
def test_a_bad_token_file_is_named_without_showing_it(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content, encoding="utf-8")

    assert push_to_hub.main(["org/fashion_mnist", "--token-file", str(token_file)]) == 1

    err = capsys.readouterr().err
    assert f"Expected one token in {token_file}, {problem}" in err
    assert "hf_a" not in err
    assert push_to_hub.main(["org/fashion_mnist", "--token-file", TOKEN]) == 1  # a token pasted as the path
    err = capsys.readouterr().err
    assert "Cannot read the file given to --token-file: No such file or directory" in err
    assert TOKEN not in err


def test_a_wrong_token_is_refused_by_the_hub_and_not_shown(
    synthetic_repo: tuple[pathlib.Path, tuple], hub: WritableHub, endpoint: str, repo_id: str
) -> None:
    repo, table = synthetic_repo
    wrong = "hf_wrong_token_value"

    with pytest.raises(push_to_hub.PushError, match=r"Not authorised for .*HTTP 401") as refused:
        push_to_hub.push(repo_id, repo, api=HfApi(token=wrong), archives=table)

    assert wrong not in str(refused.value)
    assert not (hub.repo_dir(repo_id) / ".git").exists()


# --- Refusals before any write ------------------------------------------------------------


def test_missing_branch_is_named(
    synthetic_repo: tuple[pathlib.Path, tuple], hub: WritableHub, endpoint: str, repo_id: str
) -> None:
    repo, table = synthetic_repo
    push_to_hub.push(repo_id, repo, api=api(), archives=table)
    expected = f"Branch 'nope' does not exist in datasets/{repo_id} at {endpoint}: create it first"
    with pytest.raises(push_to_hub.PushError, match=expected):
        push_to_hub.plan_push(HfApi(token=False), repo_id, repo, revision="nope")


def test_unverified_copy_is_refused_before_any_network_call(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    tampered = layout.shard_path(fashion_mnist.NAME, "train", 3, fashion_mnist.NUM_SHARDS["train"])
    with open(repo / tampered, "ab") as shard:
        shard.write(b"tampered")

    with pytest.raises(push_to_hub.PushError, match=r"Refusing to push: .* failed verification") as refused:
        push_to_hub.push("org/x", repo, api=HfApi(endpoint=closed_endpoint(), token=TOKEN), archives=table)

    assert tampered in str(refused.value)


def test_cli_malformed_repo_id_is_rejected_before_any_network_call(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, _ = synthetic_repo
    done = run_cli("org//fashion_mnist", "--repo-dir", str(repo), HF_ENDPOINT=closed_endpoint())

    assert done.returncode == 1
    assert "'org//fashion_mnist' is not a valid Hub repo id" in done.stderr
    assert "NAMESPACE/NAME" in done.stderr


def test_cli_without_a_token_says_how_to_log_in(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    """The test session has no token (conftest isolates HF_HOME and drops HF_TOKEN); the check needs no network."""
    repo, _ = synthetic_repo
    done = run_cli("org/fashion_mnist", "--repo-dir", str(repo), HF_ENDPOINT=closed_endpoint())

    assert done.returncode == 1
    assert "No Hugging Face token to push to datasets/org/fashion_mnist" in done.stderr
    assert "hf auth login" in done.stderr and "--token-file" in done.stderr


def test_unreachable_hub_is_reported_quickly(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    endpoint = closed_endpoint()
    started = time.monotonic()

    with pytest.raises(push_to_hub.PushError, match=f"Cannot reach the Hub at {endpoint} to push datasets/org/x"):
        push_to_hub.push("org/x", repo, api=HfApi(endpoint=endpoint, token=False), dry_run=True, archives=table)

    assert time.monotonic() - started < 10  # huggingface_hub's own retries would take ~25 s


class _RefusingHub(http.server.BaseHTTPRequestHandler):
    """Test double of a Hub that lists an empty repo but refuses every other request with `status`."""

    status: int

    def do_HEAD(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def _answer(self) -> None:
        listing = self.command == "GET" and "/tree/" in self.path
        status = 200 if listing else self.status
        body = b"[]" if listing else json.dumps({"error": "Invalid credentials in Authorization header"}).encode()
        self.send_response(status)
        if not listing:
            self.send_header("X-Error-Message", "Invalid credentials in Authorization header")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextlib.contextmanager
def refusing_hub(status: int) -> Iterator[str]:
    handler = type("Handler", (_RefusingHub,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_write_names_the_repo_and_the_fix(synthetic_repo: tuple[pathlib.Path, tuple], status: int) -> None:
    repo, table = synthetic_repo
    with refusing_hub(status) as endpoint:
        api = HfApi(endpoint=endpoint, token=TOKEN)
        expected = rf"Not authorised for datasets/org/x at {endpoint} \(HTTP {status}\): use a token with write"
        with pytest.raises(push_to_hub.PushError, match=expected):
            push_to_hub.push("org/x", repo, api=api, archives=table)


def _header(request: Received, name: str) -> str | None:
    return next((value for key, value in request.headers.items() if key.lower() == name.lower()), None)


def _git_log(hub: WritableHub, repo_id: str) -> list[str]:
    return subprocess.run(
        ["git", "log", "--format=%s", "main"], cwd=hub.repo_dir(repo_id), capture_output=True, text=True, check=True
    ).stdout.splitlines()


def _git_parents(hub: WritableHub, repo_id: str, commit: str) -> list[str]:
    done = subprocess.run(
        ["git", "rev-list", "--parents", "-n", "1", commit],
        cwd=hub.repo_dir(repo_id),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()[1:]
