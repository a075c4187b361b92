"""scripts/push_to_hub.py: what it uploads, its one-commit plan against a real (local) Hub, and its refusals.

Every read goes to olah for real (through `tests.local_hub`). No server here accepts
uploads, so the two writes are checked at huggingface_hub's door: `RecordingHfApi` is
a test double whose `create_repo` and `create_commit` record their arguments (the
real `CommitOperationAdd` / `CommitOperationDelete` objects) instead of sending them.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from huggingface_hub import CommitInfo, CommitOperationAdd, CommitOperationDelete, HfApi, RepoUrl

from scripts import layout, push_to_hub
from tests.conftest import HUB_REPO
from tests.local_hub import LocalHub, free_port

OLD_REPO = "org/fashion_mnist_old"
STALE_SHARDS = ("data/test-00000-of-00001.parquet", "data/train-00000-of-00001.parquet")  # the one-file layout
NOT_A_TOKEN = "test-double-token"  # lets the push past its token check; no server here checks tokens
CLI_TIMEOUT = 180  # seconds


class RecordingHfApi(HfApi):
    """Test double: reads go to the Hub for real; `create_repo` and `create_commit` only record their arguments."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.writes: list[tuple[str, str, dict]] = []

    def create_repo(self, repo_id: str, **kwargs: object) -> RepoUrl:
        self.writes.append(("create_repo", repo_id, kwargs))
        return RepoUrl(f"{self.endpoint}/datasets/{repo_id}", endpoint=self.endpoint)

    def create_commit(self, repo_id: str, operations: object, **kwargs: object) -> CommitInfo:
        self.writes.append(("create_commit", repo_id, {"operations": list(operations), **kwargs}))
        base = f"{self.endpoint}/datasets/{repo_id}"
        return CommitInfo(
            commit_url=f"{base}/commit/{'0' * 40}",
            commit_message=str(kwargs["commit_message"]),
            commit_description="",
            oid="0" * 40,
            pr_url=f"{base}/discussions/1" if kwargs.get("create_pr") else None,
        )


@pytest.fixture(scope="module")
def old_repo(local_hub: LocalHub, real_repo: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`org/fashion_mnist_old`: `main` is an older publication, branch `refresh` is the current build.

    The older one has another card, the stale one-file-per-split shards and a root
    `.gitattributes` (outside `data/`, so a push must leave it).
    """
    older = tmp_path_factory.mktemp("older_publication")
    (older / "README.md").write_text("---\npretty_name: Fashion-MNIST\n---\n# An older card\n", encoding="utf-8")
    (older / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n", encoding="utf-8")
    current = push_to_hub.upload_set(real_repo)
    stale = {path: current["data/test-00000-of-00002.parquet"] for path in STALE_SHARDS}
    local_hub.publish(
        OLD_REPO, {**current, **stale, "README.md": older / "README.md", ".gitattributes": older / ".gitattributes"}
    )
    local_hub.publish(OLD_REPO, current, branch="refresh")
    return OLD_REPO


def closed_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh process: huggingface_hub's own endpoint and token resolution, from `env`."""
    return subprocess.run(
        [sys.executable, str(layout.PROJECT_ROOT / "scripts" / "push_to_hub.py"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


# --- What is uploaded -------------------------------------------------------------------


def test_upload_set_is_the_hub_copy_and_never_code(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, _ = synthetic_repo
    for stray in ("fashion_mnist.py", "scripts/build.py", "tests/test_x.py", "data/notes.txt", ".build-x/a.parquet"):
        (repo / stray).parent.mkdir(parents=True, exist_ok=True)
        (repo / stray).write_text("not for the Hub\n", encoding="utf-8")
    (repo / "data" / "extra").mkdir()
    (repo / "data" / "extra" / "x.parquet").write_bytes(b"PAR1")

    selected = push_to_hub.upload_set(repo)

    shards = [f"data/test-0000{i}-of-00002.parquet" for i in range(2)]
    shards += [f"data/train-0000{i}-of-00008.parquet" for i in range(8)]
    expected = ["README.md", "data/extra/x.parquet", "data/preview.png", *shards, "dataset_infos.json"]
    assert list(selected) == expected
    assert all(selected[path] == repo / path for path in selected)


def test_upload_set_needs_a_build(tmp_path: pathlib.Path) -> None:
    with pytest.raises(push_to_hub.PushError, match=r"README\.md, dataset_infos\.json, data/preview\.png not found"):
        push_to_hub.upload_set(tmp_path)


# --- The plan, against the local Hub's real file list ------------------------------------


def test_identical_build_plans_nothing(real_repo: pathlib.Path, local_hub: LocalHub, hub_endpoint: str) -> None:
    plan = push_to_hub.plan_push(HfApi(token=False), HUB_REPO, real_repo)

    assert plan.head == local_hub.head(HUB_REPO)
    assert (plan.additions, plan.deletions) == ((), ())
    assert plan.unchanged == tuple(push_to_hub.upload_set(real_repo))
    assert plan.empty


def test_rerun_with_nothing_changed_makes_no_commit(real_repo: pathlib.Path, hub_endpoint: str) -> None:
    api = RecordingHfApi(token=NOT_A_TOKEN)

    result = push_to_hub.push(HUB_REPO, real_repo, api=api)

    assert api.writes == []
    assert result.commit is None
    assert "Nothing changed since the last push: no commit made." in result.describe()


def test_changed_build_uploads_every_changed_file(
    synthetic_repo: tuple[pathlib.Path, tuple], hub_endpoint: str
) -> None:
    repo, _ = synthetic_repo  # same file names as the real build, other content

    plan = push_to_hub.plan_push(HfApi(token=False), HUB_REPO, repo)

    assert plan.additions == tuple(push_to_hub.upload_set(repo))
    assert (plan.deletions, plan.unchanged) == ((), ())


def test_stale_shards_are_deleted_and_only_the_changed_card_uploaded(
    real_repo: pathlib.Path, old_repo: str, hub_endpoint: str
) -> None:
    plan = push_to_hub.plan_push(HfApi(token=False), old_repo, real_repo)

    assert plan.additions == ("README.md",)  # a small file: compared by git blob id
    assert plan.deletions == STALE_SHARDS  # .gitattributes is outside data/ and stays
    assert plan.unchanged == tuple(path for path in push_to_hub.upload_set(real_repo) if path != "README.md")


def test_plan_reads_the_requested_branch(
    real_repo: pathlib.Path, old_repo: str, local_hub: LocalHub, hub_endpoint: str
) -> None:
    plan = push_to_hub.plan_push(HfApi(token=False), old_repo, real_repo, revision="refresh")

    assert plan.head == local_hub.head(old_repo, "refresh")
    assert plan.empty
    assert len(plan.unchanged) == len(push_to_hub.upload_set(real_repo))


def test_push_makes_one_commit_of_hub_operations_with_options_passed_through(
    real_repo: pathlib.Path, old_repo: str, local_hub: LocalHub, hub_endpoint: str
) -> None:
    api = RecordingHfApi(token=NOT_A_TOKEN)

    result = push_to_hub.push(
        old_repo, real_repo, api=api, create_pr=True, revision="main", message="Refresh the Hub copy"
    )

    [(call, repo_id, arguments)] = api.writes  # the repo exists: no create_repo
    operations = arguments.pop("operations")
    assert (call, repo_id) == ("create_commit", old_repo)
    assert arguments == {
        "commit_message": "Refresh the Hub copy",
        "repo_type": "dataset",
        "revision": "main",
        "create_pr": True,
        "parent_commit": local_hub.head(old_repo),  # the snapshot the plan compared with
    }
    [card, *deletions] = operations
    assert isinstance(card, CommitOperationAdd)
    assert (card.path_in_repo, card.path_or_fileobj) == ("README.md", str(real_repo / "README.md"))
    assert card.upload_info.sha256.hex() == layout.sha256_file(real_repo / "README.md")
    assert all(isinstance(operation, CommitOperationDelete) for operation in deletions)
    assert tuple(operation.path_in_repo for operation in deletions) == STALE_SHARDS
    assert result.describe().endswith(f"Pushed in one commit: {hub_endpoint}/datasets/{old_repo}/discussions/1")


def test_missing_repo_is_created_then_filled_in_one_commit(
    synthetic_repo: tuple[pathlib.Path, tuple], hub_endpoint: str
) -> None:
    repo, table = synthetic_repo
    api = RecordingHfApi(token=NOT_A_TOKEN)

    push_to_hub.push("org/brand_new", repo, api=api, private=True, archives=table)

    [create_repo, create_commit] = api.writes
    assert create_repo == ("create_repo", "org/brand_new", {"repo_type": "dataset", "private": True, "exist_ok": True})
    operations = create_commit[2]["operations"]
    assert all(isinstance(operation, CommitOperationAdd) for operation in operations)
    assert [operation.path_in_repo for operation in operations] == list(push_to_hub.upload_set(repo))


def test_dry_run_of_a_missing_repo_plans_every_file_and_writes_nothing(
    synthetic_repo: tuple[pathlib.Path, tuple], hub_endpoint: str
) -> None:
    repo, table = synthetic_repo
    api = RecordingHfApi(token=False)  # no login needed

    result = push_to_hub.push("org/brand_new", repo, api=api, dry_run=True, archives=table)

    assert api.writes == []
    assert not result.plan.repo_exists
    assert result.plan.additions == tuple(push_to_hub.upload_set(repo))
    text = result.describe()
    assert f"Repo not found: datasets/org/brand_new does not exist at {hub_endpoint}" in text
    assert text.endswith("Dry run: nothing was changed.")


def test_cli_dry_run_against_the_read_only_hub_without_login(
    real_repo: pathlib.Path, old_repo: str, hub_endpoint: str
) -> None:
    """olah has no write routes: had the dry run tried to write, it would have failed with exit 1."""
    done = run_cli(old_repo, "--repo-dir", str(real_repo), "--dry-run")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"datasets/{old_repo}@main at {hub_endpoint}: 1 to upload, 2 to delete, 12 unchanged"
    assert "  upload README.md" in lines
    assert all(f"  delete {path}" in lines for path in STALE_SHARDS)
    assert "  same   data/train-00007-of-00008.parquet" in lines
    assert lines[-1] == "Dry run: nothing was changed."


# --- Refusals ---------------------------------------------------------------------------


def test_missing_branch_is_named(real_repo: pathlib.Path, hub_endpoint: str) -> None:
    expected = f"Branch 'nope' does not exist in datasets/{HUB_REPO} at {hub_endpoint}: create it first"
    with pytest.raises(push_to_hub.PushError, match=expected):
        push_to_hub.plan_push(HfApi(token=False), HUB_REPO, real_repo, revision="nope")


def test_a_hub_refusing_the_commit_is_reported(synthetic_repo: tuple[pathlib.Path, tuple], hub_endpoint: str) -> None:
    """A real write attempt: olah has no write routes and answers 405 to huggingface_hub's first POST."""
    repo, table = synthetic_repo

    with pytest.raises(push_to_hub.PushError, match=f"The Hub refused the push to datasets/{HUB_REPO} at .*405"):
        push_to_hub.push(HUB_REPO, repo, api=HfApi(token=NOT_A_TOKEN), archives=table)


def test_unverified_copy_is_refused_before_any_network_call(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    with open(repo / "data" / "train-00003-of-00008.parquet", "ab") as shard:
        shard.write(b"tampered")
    api = RecordingHfApi(endpoint=closed_endpoint(), token=NOT_A_TOKEN)

    with pytest.raises(push_to_hub.PushError, match=r"Refusing to push: .* failed verification") as refused:
        push_to_hub.push(HUB_REPO, repo, api=api, archives=table)

    assert "data/train-00003-of-00008.parquet" in str(refused.value)
    assert api.writes == []


def test_cli_malformed_repo_id_is_rejected_before_any_network_call(real_repo: pathlib.Path) -> None:
    done = run_cli("org//fashion_mnist", "--repo-dir", str(real_repo), HF_ENDPOINT=closed_endpoint())

    assert done.returncode == 1
    assert "'org//fashion_mnist' is not a valid Hub repo id" in done.stderr
    assert "NAMESPACE/NAME" in done.stderr


def test_cli_without_a_token_says_how_to_log_in(real_repo: pathlib.Path) -> None:
    """The test session has no token (conftest isolates HF_HOME and drops HF_TOKEN); the check needs no network."""
    done = run_cli(HUB_REPO, "--repo-dir", str(real_repo), HF_ENDPOINT=closed_endpoint())

    assert done.returncode == 1
    assert f"No Hugging Face token to push to datasets/{HUB_REPO}" in done.stderr
    assert "hf auth login" in done.stderr


def test_unreachable_hub_is_reported_quickly(synthetic_repo: tuple[pathlib.Path, tuple]) -> None:
    repo, table = synthetic_repo
    endpoint = closed_endpoint()
    started = time.monotonic()

    with pytest.raises(push_to_hub.PushError, match=f"Cannot reach the Hub at {endpoint} to push datasets/{HUB_REPO}"):
        push_to_hub.push(HUB_REPO, repo, api=HfApi(endpoint=endpoint, token=False), dry_run=True, archives=table)

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
        api = HfApi(endpoint=endpoint, token=NOT_A_TOKEN)
        expected = rf"Not authorised for datasets/{HUB_REPO} at {endpoint} \(HTTP {status}\): use a token with write"
        with pytest.raises(push_to_hub.PushError, match=expected):
            push_to_hub.push(HUB_REPO, repo, api=api, archives=table)
