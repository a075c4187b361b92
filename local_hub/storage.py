"""The git repositories olah serves, stored as the Hub stores them: LFS pointers in git, content in `.git/lfs`.

Each repo is a git repository whose commits hold exactly the files given to `publish`.
Binary files are Git LFS pointers with the content in `.git/lfs/objects` (olah reads
that layout), so the file list reports an LFS SHA-256 for them and a git blob id for the
text files, as the Hub does. The write API (`write_api.py`) commits through the same
functions.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import urllib.parse
from collections.abc import Mapping

# The Hub's default .gitattributes for dataset repos stores these in LFS (among others).
LFS_SUFFIXES = (".parquet", ".png", ".gz")
LFS_POINTER_MAX_BYTES = 1024  # a Git LFS pointer is about 130 bytes; a larger blob is the file itself
GIT_TIMEOUT = 60.0
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "local-hub",
    "GIT_AUTHOR_EMAIL": "local-hub@127.0.0.1",
    "GIT_COMMITTER_NAME": "local-hub",
    "GIT_COMMITTER_EMAIL": "local-hub@127.0.0.1",
}
RESOLVE_URL = re.compile(
    r"^/(?P<type>datasets|models|spaces)/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$"
)
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
_LFS_POINTER = re.compile(r"^oid sha256:(?P<oid>[0-9a-f]{64})\nsize (?P<size>\d+)$", re.MULTILINE)


def git(repo: pathlib.Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """`git` in `repo` with a fixed identity and no user or system config, its output as text."""
    environment = {
        **os.environ,
        **GIT_IDENTITY,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        **(env or {}),
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=environment, check=True, capture_output=True, text=True, timeout=GIT_TIMEOUT
    )
    return done.stdout.strip()


def git_bytes(repo: pathlib.Path, *args: str) -> bytes:
    """`git` with binary output (file contents)."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=GIT_TIMEOUT).stdout


def lfs_object_path(git_dir: pathlib.Path, digest: str) -> pathlib.Path:
    """Where Git LFS (and olah) keep the content whose SHA-256 is `digest`: `.git/lfs/objects/ab/cd/<sha256>`."""
    return git_dir / "lfs" / "objects" / digest[:2] / digest[2:4] / digest


def lfs_pointer_text(digest: str, size: int) -> bytes:
    """The Git LFS pointer file that stands in the git tree for the content."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{digest}\nsize {size}\n".encode()


def store_in_lfs(content_path: pathlib.Path, git_dir: pathlib.Path) -> bytes:
    """Store the file as Git LFS does and return its pointer."""
    digest = hashlib.sha256(content_path.read_bytes()).hexdigest()
    stored = lfs_object_path(git_dir, digest)
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(content_path, stored)
    return lfs_pointer_text(digest, content_path.stat().st_size)


@dataclasses.dataclass(frozen=True)
class StoredObject:
    """A file of a repo as the Hub stores it: where its bytes are on disk, and the commit it was resolved at."""

    path: pathlib.Path
    size: int
    sha256: str
    commit: str

    def headers(self) -> list[tuple[str, str]]:
        """What olah says of the file (`X-Repo-Commit`, the LFS SHA-256 as `ETag`), without asking it."""
        return [("X-Repo-Commit", self.commit), ("ETag", self.sha256), ("Accept-Ranges", "bytes")]


class GitStore:
    """The dataset repos under `mirrors` (olah's mirrors path) and the `meta_head.json` olah reads under `repos`."""

    def __init__(self, mirrors: pathlib.Path, repos: pathlib.Path) -> None:
        self.mirrors = mirrors
        self.repos = repos
        self._objects: dict[tuple[pathlib.Path, str, str], StoredObject | None] = {}  # (repo, commit, file) -> object

    def repo_dir(self, repo_id: str) -> pathlib.Path:
        return self.mirrors / "datasets" / repo_id

    def publish(
        self, repo_id: str, files: Mapping[str, pathlib.Path], *, branch: str = "main", message: str = "publish"
    ) -> str:
        """Commit exactly `files` (repo path -> local file) as the content of `branch`; return the commit sha."""
        work = self.repo_dir(repo_id)
        if not work.exists():
            work.mkdir(parents=True)
            git(work, "init", "-q", "-b", "main")
        if git(work, "symbolic-ref", "--short", "HEAD") != branch:
            exists = bool(git(work, "branch", "--list", branch))
            git(work, "checkout", "-q", *([branch] if exists else ["-b", branch]))
        for entry in work.iterdir():
            if entry.is_dir() and entry.name != ".git":
                shutil.rmtree(entry)
            elif entry.is_file():
                entry.unlink()
        for path, source in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.endswith(LFS_SUFFIXES):
                target.write_bytes(store_in_lfs(source, work / ".git"))
            else:
                shutil.copyfile(source, target)
        git(work, "add", "-A")
        git(work, "commit", "-q", "--allow-empty", "-m", message)
        sha = git(work, "rev-parse", "HEAD")
        if branch == "main":
            self.write_meta_head(repo_id, sha)
        return sha

    def head(self, repo_id: str, branch: str = "main") -> str:
        """The commit sha `branch` points at."""
        return git(self.repo_dir(repo_id), "rev-parse", f"refs/heads/{branch}")

    def write_meta_head(self, repo_id: str, sha: str) -> None:
        """olah answers `GET /api/datasets/{repo}` (no revision) for a mirror only from this file; else 401."""
        meta = self.repos / "api" / "datasets" / repo_id / "revision" / "main" / "meta_head.json"
        meta.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC).isoformat()
        meta.write_text(json.dumps({"sha": sha, "lastModified": now}), encoding="utf-8")

    def stored_object(self, url_path: str) -> StoredObject | None:
        """Where the LFS object behind a `/{type}s/{repo}/resolve/{revision}/{file}` URL lies, if it is one.

        Resolved through git as olah does (revision -> commit -> the file's LFS pointer), so
        a range is read from the same bytes olah would send whole. None for anything else:
        other URLs, files stored in git itself, missing revisions or files.
        """
        match = RESOLVE_URL.match(urllib.parse.urlsplit(url_path).path)
        if not match:
            return None
        repo = self.mirrors / match["type"] / urllib.parse.unquote(match["repo"])
        revision, file = urllib.parse.unquote(match["revision"]), urllib.parse.unquote(match["file"])
        if not (repo / ".git").is_dir():
            return None
        try:
            # A commit sha names itself (HfFileSystem reads ranges at one); a branch is looked up each time: it moves.
            commit = (
                revision if COMMIT_SHA.match(revision) else git(repo, "rev-parse", "--verify", f"{revision}^{{commit}}")
            )
            key = (repo, commit, file)
            if key not in self._objects:
                self._objects[key] = _lfs_object_of(repo, commit, file)
        except subprocess.CalledProcessError:
            return None
        return self._objects[key]


def _lfs_object_of(repo: pathlib.Path, commit: str, file: str) -> StoredObject | None:
    if int(git(repo, "cat-file", "-s", f"{commit}:{file}")) > LFS_POINTER_MAX_BYTES:
        return None  # stored in git itself, perhaps binary: not a pointer to read as text
    match = _LFS_POINTER.search(git(repo, "cat-file", "-p", f"{commit}:{file}"))
    if not match:
        return None
    stored = lfs_object_path(repo / ".git", match["oid"])
    return StoredObject(stored, int(match["size"]), match["oid"], commit) if stored.is_file() else None
