"""Publish the built Hub copy: check it, then upload what changed in one commit.

    python -m scripts.push_to_hub REPO_ID [--repo-dir DIR] [--dry-run] [--private]
                                  [--create-pr] [--revision BRANCH] [--message TEXT] [--token-file PATH]

What is uploaded (`upload_set`): the card, `dataset_infos.json`, the preview, the checksums
and the Parquet shards that the card's `configs` name, and the source tree that made them
(every file git tracks in this checkout) under `source/`, so that every file the card
links opens from the Hub page. Never code at the root: `datasets` 4 and later refuse a Hub
repo holding `fashion_mnist.py` there. Before anything is sent, every file of that set is
checked: a regular file inside its directory (the build's, or the checkout's for
`source/`), reached through no symbolic link (`check_upload_set`),
and the whole copy passes `scripts/verify.py` (which also re-renders the preview from
the shards and compares pixels). The push then compares every file with the remote one
(LFS SHA-256, or git blob id for small files) so unchanged files are not sent again,
deletes remote shards the build no longer has, and makes no commit when nothing changed.
`--dry-run` only reads the remote file list and prints the plan. Whatever the Hub answers
(a busy repo, rate limiting, a server error, a lost connection, a refusal) is reported in
one line that names the repo, says what the remote holds now (read back after a failed
write) and what to do; running the push again is always safe.

The endpoint and token are huggingface_hub's usual ones: `HF_ENDPOINT`, and `HF_TOKEN`
or the login cache (`hf auth login`). `--token-file PATH` reads the token from a file
(`-`: from standard input) instead; a token is never taken from the command line,
where `ps` would show it, and never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import pathlib
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence

import httpx2
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import CommitInfo, CommitOperationAdd, CommitOperationDelete, HfApi, RepoFile, get_token
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils import validate_repo_id
from huggingface_hub.utils.sha import git_hash

import fashion_mnist
from scripts import layout, repo_lock
from scripts.verify import CardError, VerificationError, load_card, verify_repo

REPO_TYPE = "dataset"
DEFAULT_MESSAGE = "Update Fashion-MNIST: card, infos, preview, Parquet shards and source"
FIXED_FILES = (layout.CARD, layout.INFOS, layout.PREVIEW, layout.CHECKSUMS)
PROBE_TIMEOUT = 10.0  # seconds
SOURCE_LIST_TIMEOUT = 60  # seconds for `git ls-files`


class PushError(Exception):
    """The push cannot go ahead; the message names the repo and says what to do."""


def upload_set(
    repo_dir: str | pathlib.Path, source_root: pathlib.Path = layout.PROJECT_ROOT
) -> dict[str, pathlib.Path]:
    """The files to publish, sorted by path in the repo: the Hub copy from `repo_dir`, the source under `source/`.

    The data files are what the `data_files` patterns of every config in the card's
    `configs` match (`data/train-*`, ...), so a config with its own shard directory needs
    no change here. The one definition of what goes to the Hub; the plan, the checks, the
    push and the tests' local Hub all take it from here.
    """
    repo_dir = pathlib.Path(repo_dir)
    missing = [name for name in FIXED_FILES if not (repo_dir / name).is_file()]
    if missing:
        raise PushError(
            f"{repo_dir}: {', '.join(missing)} not found; build the Hub copy first: "
            f"python -m scripts.build --repo-dir {repo_dir}"
        )
    data_files = set()
    for pattern in data_file_patterns(repo_dir):
        data_files |= {path.relative_to(repo_dir).as_posix() for path in repo_dir.glob(pattern)}
    files = {path: repo_dir / path for path in {*FIXED_FILES, *data_files}} | source_files(source_root)
    return dict(sorted(files.items()))


def source_files(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """`source/<path>` -> file, for every file git tracks under `root` but the copy's own card and infos.

    The card and `dataset_infos.json` are the Hub copy's root files already; git's list,
    not a glob, is what makes a file part of the source (caches, `data/` and virtual
    environments are never tracked).
    """
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached"],
            capture_output=True, check=True, timeout=SOURCE_LIST_TIMEOUT,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        raise PushError(
            f"{root}: cannot list the source tree with `git ls-files` ({one_line(error)}); the push uploads it "
            f"under {layout.SOURCE_DIR}/, so push from a git clone of the source repository."
        ) from error
    paths = sorted(path for path in listed.decode().split("\0") if path and path not in (layout.CARD, layout.INFOS))
    return {f"{layout.SOURCE_DIR}/{path}": root / path for path in paths}


def data_file_patterns(repo_dir: pathlib.Path) -> list[str]:
    """Every `data_files` pattern of every config in the card, each a relative path inside the repo."""
    try:
        configs = MetadataConfigs.from_dataset_card_data(load_card(repo_dir / layout.CARD).data)
    except CardError as error:
        raise PushError(f"Refusing to push: {error}. Fix the card or rebuild it with scripts/build.py.") from error
    patterns = []
    for config in configs.values():
        entries = config.get("data_files") or []
        for entry in [entries] if isinstance(entries, (str, dict)) else entries:
            paths = entry.get("path", []) if isinstance(entry, dict) else entry
            patterns += [paths] if isinstance(paths, str) else list(paths)
    unsafe = [p for p in patterns if p.startswith("/") or ".." in pathlib.PurePosixPath(p).parts]
    if unsafe:
        raise PushError(f"Refusing to push: {layout.CARD} names data files outside the repo: {unsafe}")
    return patterns


def check_upload_set(
    repo_dir: str | pathlib.Path, files: Mapping[str, pathlib.Path], source_root: pathlib.Path = layout.PROJECT_ROOT
) -> None:
    """Every file to upload is a regular file inside its directory, reached through no symbolic link.

    Its directory is `repo_dir` for the Hub copy, `source_root` for `source/`. Run before
    anything is sent: a symlink (to a file or to a directory on the way) would upload bytes
    from elsewhere, e.g. a secrets file behind `data/preview.png`.
    """
    problems = []
    for relative, path in files.items():
        in_source = relative.startswith(f"{layout.SOURCE_DIR}/")
        root = pathlib.Path(source_root if in_source else repo_dir).resolve()
        parts = pathlib.PurePosixPath(relative).parts[1 if in_source else 0 :]
        steps = [root.joinpath(*parts[: n + 1]) for n in range(len(parts))]
        links = [step for step in steps if step.is_symlink()]
        if links:
            problems.append(f"{relative}: {links[0].relative_to(root)} is a symbolic link (to {os.readlink(links[0])})")
        elif not path.resolve().is_relative_to(root):
            problems.append(f"{relative}: resolves outside {root}")
        elif not path.resolve().is_file():
            problems.append(f"{relative}: not a regular file")
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise PushError(
            f"Refusing to push {pathlib.Path(repo_dir).resolve()}: only the build's own files and the tracked source "
            f"are uploaded, and these are not:\n{listing}\nRemove them and rebuild with scripts/build.py; nothing "
            "was sent."
        )


def stale_paths(remote: Mapping[str, object], files: Mapping[str, pathlib.Path]) -> tuple[str, ...]:
    """Remote files the build no longer has: Parquet files anywhere, anything in a directory holding shards, and
    source files no longer tracked."""
    shard_dirs = {
        path.rsplit("/", 1)[0] + "/"
        for path in files
        if "/" in path and path not in FIXED_FILES and not path.startswith(f"{layout.SOURCE_DIR}/")
    } | {f"{layout.SOURCE_DIR}/"}
    return tuple(
        sorted(
            path
            for path in remote
            if path not in files and (path.endswith(".parquet") or path.startswith(tuple(shard_dirs)))
        )
    )


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """What the Hub says about one file: its git blob id and, for LFS files, the content's SHA-256."""

    path: str
    blob_id: str
    lfs_sha256: str | None

    def same_content(self, local: pathlib.Path) -> bool:
        """Whether `local` holds this content (LFS files by SHA-256, others by git blob id)."""
        if self.lfs_sha256 is not None:
            return layout.sha256_file(local) == self.lfs_sha256
        return git_hash(local.read_bytes()) == self.blob_id


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a push of `files` to `repo_id` at `revision` would change."""

    endpoint: str
    repo_id: str
    revision: str | None
    head: str | None  # the remote commit compared with; None if the repo does not exist
    files: Mapping[str, pathlib.Path]  # the upload set
    additions: tuple[str, ...]  # new or changed
    deletions: tuple[str, ...]  # remote shards the build no longer has (`stale_paths`)
    unchanged: tuple[str, ...]

    @property
    def repo_exists(self) -> bool:
        return self.head is not None

    @property
    def empty(self) -> bool:
        return not self.additions and not self.deletions

    def operations(self) -> list[CommitOperationAdd | CommitOperationDelete]:
        """Fresh operations for one `create_commit` (huggingface_hub mutates them, so never reuse a list)."""
        adds = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=self.files[path]) for path in self.additions]
        return [*adds, *(CommitOperationDelete(path_in_repo=path) for path in self.deletions)]

    def describe(self) -> str:
        where = f"datasets/{self.repo_id}@{self.revision or 'main'} at {self.endpoint}"
        counts = f"{len(self.additions)} to upload, {len(self.deletions)} to delete, {len(self.unchanged)} unchanged"
        lines = [f"{where}: {counts}"]
        if not self.repo_exists:
            lines.insert(
                0,
                f"Repo not found: datasets/{self.repo_id} does not exist at {self.endpoint}, or is private and this "
                "token cannot see it. A push creates it (add --private for a private repo); every file is an upload.",
            )
        for verb, paths in (("upload", self.additions), ("delete", self.deletions), ("same", self.unchanged)):
            lines += [f"  {verb:<7}{path}" for path in paths]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class RemoteState:
    """The remote branch at one commit: its sha and its files by path."""

    head: str
    files: dict[str, RemoteFile]


def remote_state(api: HfApi, repo_id: str, revision: str | None) -> RemoteState | None:
    """The files of the repo at the current commit of `revision`; None if the repo is missing (or invisible).

    The listing is read at the commit sha, not the branch name, so the whole plan describes
    one snapshot, and the push passes that sha as `parent_commit`: a commit landing in
    between makes the push fail instead of mixing two states. A plain recursive listing
    carries the LFS SHA-256 and blob ids (huggingface_hub's own `verify_repo_checksums`
    uses it); `expand=True` would only add last-commit and security data, at 50 entries a
    page instead of 1,000.
    """
    try:
        head = api.dataset_info(repo_id, revision=revision).sha
        entries = list(api.list_repo_tree(repo_id, repo_type=REPO_TYPE, revision=head, recursive=True))
    except RepositoryNotFoundError as error:  # the Hub answers the same for a missing repo and a private one
        if revision is not None and repo_visible(api, repo_id):  # some servers (olah) say so for a missing branch
            raise missing_branch(api.endpoint, repo_id, revision) from error
        return None
    files = {
        entry.path: RemoteFile(entry.path, entry.blob_id, entry.lfs.sha256 if entry.lfs else None)
        for entry in entries
        if isinstance(entry, RepoFile)
    }
    return RemoteState(head, files)


def repo_visible(api: HfApi, repo_id: str) -> bool:
    try:
        api.dataset_info(repo_id)
    except RepositoryNotFoundError:
        return False
    return True


def plan_push(api: HfApi, repo_id: str, repo_dir: str | pathlib.Path, *, revision: str | None = None) -> Plan:
    """Compare the upload set with the remote files; read-only."""
    files = upload_set(repo_dir)
    remote = remote_state(api, repo_id, revision)
    known = remote.files if remote else {}
    unchanged = tuple(path for path, local in files.items() if path in known and known[path].same_content(local))
    additions = tuple(path for path in files if path not in unchanged)
    stale = stale_paths(known, files)
    head = remote.head if remote else None
    return Plan(api.endpoint, repo_id, revision, head, files, additions, stale, unchanged)


@dataclasses.dataclass(frozen=True)
class PushResult:
    plan: Plan
    dry_run: bool
    commit: CommitInfo | None  # None for a dry run, or when nothing changed

    def describe(self) -> str:
        if self.commit is not None:
            outcome = f"Pushed in one commit: {self.commit.pr_url or self.commit.commit_url}"
        elif self.dry_run:
            outcome = "Dry run: nothing was changed."
        else:
            outcome = "Nothing changed since the last push: no commit made."
        return f"{self.plan.describe()}\n{outcome}"


def push(
    repo_id: str,
    repo_dir: str | pathlib.Path = layout.PROJECT_ROOT,
    *,
    api: HfApi | None = None,
    dry_run: bool = False,
    private: bool = False,
    create_pr: bool = False,
    revision: str | None = None,
    message: str = DEFAULT_MESSAGE,
    archives: Sequence[fashion_mnist.Archive] = fashion_mnist.ARCHIVES,
) -> PushResult:
    """Check and verify `repo_dir`, plan, then (unless `dry_run` or nothing changed) create the repo if missing
    and commit once; the commit names the planned remote head as its parent, so it lands whole on that state or
    not at all.

    `archives` is the table `verify_repo` checks the copy against (tests pass the synthetic one).
    """
    api = api if api is not None else HfApi()
    check_repo_id(repo_id)
    check_upload_set(repo_dir, upload_set(repo_dir))
    if not dry_run:
        check_token(api, repo_id)
    # Shared with other readers, exclusive of a build's commit: the copy verified is the copy uploaded.
    try:
        with repo_lock.reading(repo_dir):
            options = PushOptions(
                dry_run=dry_run, private=private, create_pr=create_pr, revision=revision, message=message
            )
            return _push_verified(api, repo_id, repo_dir, options, archives)
    except repo_lock.RepoBusyError as error:
        raise PushError(f"Refusing to push datasets/{repo_id}: {error} Nothing was sent.") from error


@dataclasses.dataclass(frozen=True, kw_only=True)
class PushOptions:
    """How one push commits: named fields, so that two booleans side by side cannot be swapped unnoticed."""

    dry_run: bool
    private: bool
    create_pr: bool
    revision: str | None
    message: str


def _push_verified(
    api: HfApi,
    repo_id: str,
    repo_dir: str | pathlib.Path,
    options: PushOptions,
    archives: Sequence[fashion_mnist.Archive],
) -> PushResult:
    """`push` once the copy is locked for reading: verify, plan, then commit as `options` say."""
    revision = options.revision
    check_verified(repo_dir, archives)
    check_reachable(api.endpoint, repo_id)
    with hub_errors(api.endpoint, repo_id, revision):
        plan = plan_push(api, repo_id, repo_dir, revision=revision)
    if options.dry_run or plan.empty:
        return PushResult(plan, options.dry_run, None)
    check_upload_set(repo_dir, plan.files)  # the set the plan read, checked again just before sending
    with hub_errors(api.endpoint, repo_id, revision, remote=lambda: remote_after_failure(api, plan)):
        if not plan.repo_exists:
            api.create_repo(repo_id, repo_type=REPO_TYPE, private=options.private, exist_ok=True)
        commit = api.create_commit(
            repo_id,
            plan.operations(),
            commit_message=options.message,
            repo_type=REPO_TYPE,
            revision=revision,
            create_pr=options.create_pr,
            parent_commit=plan.head,
        )
    return PushResult(plan, options.dry_run, commit)


# --- Checks, each failing with a message that says what to do ---------------------------


def check_repo_id(repo_id: str) -> None:
    """Reject a malformed id before any network call."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise PushError(
            f"{repo_id!r} is not a valid Hub repo id: {error} Use NAMESPACE/NAME, e.g. org/fashion_mnist."
        ) from error


def check_verified(repo_dir: str | pathlib.Path, archives: Sequence[fashion_mnist.Archive]) -> None:
    try:
        verify_repo(repo_dir, archives=archives)
    except VerificationError as error:
        raise PushError(f"Refusing to push: {error}") from error


def check_token(api: HfApi, repo_id: str) -> None:
    """A push needs a token: the API's own, else HF_TOKEN or the login cache (never shown)."""
    token = api.token if api.token is not None else get_token()
    if not token:
        raise PushError(
            f"No Hugging Face token to push to datasets/{repo_id}: run `hf auth login` with a token that has "
            "write access to the repo, set HF_TOKEN, or pass --token-file PATH (- for stdin). "
            "(--dry-run needs no token.)"
        )


def check_reachable(endpoint: str, repo_id: str) -> None:
    """One request without huggingface_hub's retries, which take ~25 s to give up on a refused connection.

    Any HTTP answer, even an error status, means the endpoint is there.
    """
    try:
        with urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=PROBE_TIMEOUT):
            pass
    except urllib.error.HTTPError:
        pass
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PushError(
            f"Cannot reach the Hub at {endpoint} to push datasets/{repo_id}: {reason}. Check the network, "
            "or HF_ENDPOINT if you set it."
        ) from error


def missing_branch(endpoint: str, repo_id: str, revision: str | None) -> PushError:
    return PushError(
        f"Branch {revision!r} does not exist in datasets/{repo_id} at {endpoint}: create it first "
        f"(HfApi().create_branch({repo_id!r}, branch={revision!r}, repo_type='dataset')) or omit --revision."
    )


def _status(error: HfHubHTTPError) -> int | None:
    return error.response.status_code if error.response is not None else None


NOTHING_SENT = "Nothing was sent: the remote is as it was."
UNCHANGED = "Nothing was committed: the remote is as it was."
BUSY_STATUSES = (409, 423)  # a conflicting operation in progress, a locked repo


def remote_after_failure(api: HfApi, plan: Plan) -> str:
    """What a push that failed while writing left on the remote, as the remote itself now says.

    A write the Hub refused commits nothing, but a connection lost after the commit
    request went out may or may not have been applied: the branch's head tells.
    """
    try:
        head = api.dataset_info(plan.repo_id, revision=plan.revision).sha
    except (HfHubHTTPError, httpx2.TransportError):
        return (
            "Whether anything was committed could not be checked; running the push again is safe: it compares "
            "with the remote and sends only what differs."
        )
    if head == plan.head:
        return UNCHANGED
    return (
        f"The remote's {plan.revision or 'main'} is now at {head}, not at the {plan.head or 'empty repo'} this push "
        "planned against; run the push again to compare with it."
    )


def one_line(text: object, limit: int = 200) -> str:
    """The first non-empty line of a message, shortened: an error a push reports stays on one line."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _retry_after(error: HfHubHTTPError) -> str:
    seconds = error.response.headers.get("Retry-After", "") if error.response is not None else ""
    return f"{int(seconds)} s" if seconds.strip().isdigit() else "a few minutes"


@contextlib.contextmanager
def hub_errors(
    endpoint: str, repo_id: str, revision: str | None, remote: Callable[[], str] = lambda: NOTHING_SENT
) -> Iterator[None]:
    """Turn what the Hub (or the network to it) answers into a one-line `PushError`: the repo, what happened,
    what the remote holds now (`remote()`), and what to do."""
    where = f"datasets/{repo_id} at {endpoint}"
    try:
        yield
    except RevisionNotFoundError as error:
        raise missing_branch(endpoint, repo_id, revision) from error
    except (HfHubHTTPError, httpx2.TransportError) as error:
        raise PushError(describe_failure(error, where, revision, remote)) from error
    except RuntimeError as error:  # huggingface_hub wraps a failed LFS upload: "Error while uploading 'x' to the Hub."
        if isinstance(error.__cause__, (HfHubHTTPError, httpx2.TransportError)):
            raise PushError(describe_failure(error.__cause__, where, revision, remote)) from error
        raise PushError(
            f"The upload to {where} failed: {one_line(error)}. {remote()} Run the push again (content already "
            "uploaded is not sent twice)."
        ) from error


def describe_failure(
    error: HfHubHTTPError | httpx2.TransportError, where: str, revision: str | None, remote: Callable[[], str]
) -> str:
    """One line for a failed request: a lost connection, a busy repo, a rate limit, a server error, a refusal."""
    if isinstance(error, httpx2.TransportError):
        detail = one_line(error).rstrip(".") or "no answer"
        return (
            f"Lost the connection to the Hub while pushing to {where} ({type(error).__name__}: {detail}). "
            f"{remote()} Check the network, then run the push again."
        )
    status = _status(error)
    server = one_line(error.server_message or "")
    detail = f"HTTP {status}" + (f": {server}" if server else "")
    if status in (401, 403):
        return (
            f"Not authorised for {where} (HTTP {status}): use a token with write access to this repo "
            "(`hf auth login`, HF_TOKEN or --token-file), or check the namespace in the repo id."
        )
    if status == 412:
        return (
            f"{where} changed while this push was uploading: a commit landed on {revision or 'main'} after the plan "
            "was made (HTTP 412). Nothing was committed; run the push again to plan against the new state."
        )
    if status in BUSY_STATUSES:
        return (
            f"{where} is busy ({detail}): another operation on the repo is under way. {remote()} "
            "Wait a minute, then run the push again."
        )
    if status == 429:
        return (
            f"The Hub is rate-limiting requests ({detail}) while pushing to {where}. {remote()} "
            f"Wait {_retry_after(error)}, then run the push again."
        )
    if status is not None and status >= 500:
        return (
            f"The Hub failed with a server error ({detail}) while pushing to {where}. {remote()} Run the push "
            "again in a few minutes; if it keeps failing, see https://status.huggingface.co."
        )
    return f"The Hub refused the push to {where} ({detail}). {remote()}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    # No abbreviations: `--token hf_...` must fail, not be read as `--token-file hf_...`.
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("repo_id", metavar="REPO_ID", help="the dataset repo, e.g. org/fashion_mnist")
    parser.add_argument(
        "--repo-dir", default=str(layout.PROJECT_ROOT), help="the built Hub copy (default: this repository)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan; read the remote file list only")
    parser.add_argument("--private", action="store_true", help="create the repo private if it does not exist")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--revision", metavar="BRANCH", help="the branch to commit to (default: main)")
    parser.add_argument("--message", default=DEFAULT_MESSAGE, help="the commit message")
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the Hub token from this file, or from standard input if PATH is - (default: HF_TOKEN or the "
        "login cache); there is no --token: the command line is visible to every user through ps",
    )
    return parser.parse_args(argv)


def read_token(path: str) -> str:
    """The token in a file (or `-`: standard input), surrounding whitespace removed; never echoed."""
    try:
        text = sys.stdin.read() if path == "-" else pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        # The path is not repeated: a token pasted in its place would be printed.
        raise PushError(f"Cannot read the file given to --token-file: {reason}") from error
    token = text.strip()
    if not token or len(token.split()) != 1:
        where = "standard input" if path == "-" else path
        raise PushError(f"Expected one token in {where}, found {'nothing' if not token else 'several words'}.")
    return token


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        token = read_token(args.token_file) if args.token_file else None
        result = push(
            args.repo_id,
            args.repo_dir,
            api=HfApi(token=token),
            dry_run=args.dry_run,
            private=args.private,
            create_pr=args.create_pr,
            revision=args.revision,
            message=args.message,
        )
    except PushError as error:
        print(f"push_to_hub: {error}", file=sys.stderr)
        return 1
    print(result.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
