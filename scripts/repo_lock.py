"""One build at a time per repository, and a commit that a kill cannot leave half done.

A build stages everything (shards and preview under `data/`, the card, `dataset_infos.json`)
in a `.build-*` work directory of the repository, then commits: it writes a journal, swaps the
staged `data/` with the current one in one `renameat2(RENAME_EXCHANGE)`, and replaces the card
and the infos. Every step can be redone, so whoever finds a journal (the next build, or a reader
such as verify or push) finishes the commit: the repository is always the old copy or the new
one, never a mix, even after a SIGKILL.

Two `flock(2)` locks live in the repository (the kernel drops them when their holder dies):

- `.build.lock`, held exclusively by a build from start to end. A second build is refused at
  once, with the holder's pid: a build takes a minute, so waiting silently would look like a hang.
- `.commit.lock`, held exclusively only while a build commits (a fraction of a second), and
  shared by readers while they read. Two locks rather than one keep verify and push usable on
  the previous copy while a build encodes; they wait only for the commit itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import pathlib
import shutil
import time
from collections.abc import Iterator

from scripts import layout

BUILD_LOCK = ".build.lock"
COMMIT_LOCK = ".commit.lock"
WORK_PREFIX = ".build-"
STAGED = "staged"  # in a work directory: the new data/, card and infos
JOURNAL = "COMMIT"  # in a work directory: present from the commit's first change to its end
COMMITTED_FILES = (layout.INFOS, layout.CARD)  # replaced after data/, in this order
READ_WAIT = 60.0  # seconds a reader waits for a commit in progress


class RepoBusyError(Exception):
    """Another process holds the repository: a second build, or a commit that does not end."""


@contextlib.contextmanager
def building(repo_dir: pathlib.Path) -> Iterator[None]:
    """Hold the build lock; first finish any commit a killed build left, and remove every old work dir."""
    descriptor = os.open(repo_dir / BUILD_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RepoBusyError(
                f"another build (pid {holder}) is writing {repo_dir}; wait for it to finish, or stop it "
                f"(its lock, {repo_dir / BUILD_LOCK}, is released as soon as it exits). Nothing was changed."
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        with _commit_lock(repo_dir, fcntl.LOCK_EX):
            for work_dir in sorted(repo_dir.glob(WORK_PREFIX + "*")):  # all of dead builds: we hold the lock
                if (work_dir / JOURNAL).exists():
                    roll_forward(repo_dir, work_dir)
                shutil.rmtree(work_dir, ignore_errors=True)
        yield
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def reading(repo_dir: str | os.PathLike, wait: float | None = None) -> Iterator[None]:
    """Hold the commit lock shared while reading `repo_dir`, after finishing an interrupted commit.

    Waits at most `wait` seconds (default `READ_WAIT`) for a commit, then raises `RepoBusyError`.
    A repository that does not exist or cannot hold a lock file is read without a lock.
    """
    repo_dir = pathlib.Path(repo_dir)
    wait = READ_WAIT if wait is None else wait
    try:
        descriptor = os.open(repo_dir / COMMIT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        _flock(descriptor, fcntl.LOCK_SH, wait, repo_dir)
        if any(repo_dir.glob(f"{WORK_PREFIX}*/{JOURNAL}")):
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            _flock(descriptor, fcntl.LOCK_EX, wait, repo_dir)
            for journal in sorted(repo_dir.glob(f"{WORK_PREFIX}*/{JOURNAL}")):
                roll_forward(repo_dir, journal.parent)
            fcntl.flock(descriptor, fcntl.LOCK_SH)  # downgrade: other readers may proceed
        yield
    finally:
        os.close(descriptor)


def commit(repo_dir: pathlib.Path, work_dir: pathlib.Path) -> None:
    """Make `work_dir/staged` the repository's data/, card and infos: all of them, or none until recovered."""
    with _commit_lock(repo_dir, fcntl.LOCK_EX):
        staged_data = os.stat(work_dir / STAGED / layout.DATA_DIR)
        journal = {"data": [staged_data.st_dev, staged_data.st_ino], "files": list(COMMITTED_FILES)}
        with open(work_dir / JOURNAL, "w", encoding="utf-8") as file:
            json.dump(journal, file)
            file.flush()
            os.fsync(file.fileno())
        roll_forward(repo_dir, work_dir)


def roll_forward(repo_dir: pathlib.Path, work_dir: pathlib.Path) -> None:
    """Do whatever of the commit journalled in `work_dir` is not done yet, then remove `work_dir`.

    Each step is idempotent: data/ is swapped only if it is not already the staged directory
    (same inode), and a staged file is moved only if it is still there.
    """
    journal = json.loads((work_dir / JOURNAL).read_text(encoding="utf-8"))
    staged, target = work_dir / STAGED, repo_dir / layout.DATA_DIR
    try:
        current = os.stat(target)
        swapped = [current.st_dev, current.st_ino] == journal["data"]
    except FileNotFoundError:
        swapped = False
    if not swapped:
        _swap(staged / layout.DATA_DIR, target, work_dir / "previous")
    for name in journal["files"]:
        replace_file(staged, repo_dir, name)
    (work_dir / JOURNAL).unlink()
    shutil.rmtree(work_dir, ignore_errors=True)


def replace_file(staged: pathlib.Path, repo_dir: pathlib.Path, name: str) -> None:
    """One step of the commit after data/: the staged file `name` replaces the repository's, if not done yet."""
    if (staged / name).exists():
        os.replace(staged / name, repo_dir / name)


def _swap(new: pathlib.Path, target: pathlib.Path, previous: pathlib.Path) -> None:
    """Put `new` at `target` atomically when there is an old `target` (it ends up at `new`'s path).

    Without RENAME_EXCHANGE (not Linux, or a filesystem without it) two renames are used; a kill
    between them leaves no `target`, which `roll_forward` completes from the journal.
    """
    if not target.exists():
        new.rename(target)
    elif not _exchange(new, target):
        shutil.rmtree(previous, ignore_errors=True)
        target.rename(previous)
        new.rename(target)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: pathlib.Path, second: pathlib.Path) -> bool:
    """Swap two paths in one step with Linux `renameat2(RENAME_EXCHANGE)`; False if unsupported here."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


@contextlib.contextmanager
def _commit_lock(repo_dir: pathlib.Path, operation: int) -> Iterator[None]:
    descriptor = os.open(repo_dir / COMMIT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _flock(descriptor, operation, READ_WAIT, repo_dir)
        yield
    finally:
        os.close(descriptor)


def _flock(descriptor: int, operation: int, wait: float, repo_dir: pathlib.Path) -> None:
    """`flock` with a bounded wait: a commit takes well under a second, so a long wait means trouble."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(descriptor, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise RepoBusyError(
                    f"{repo_dir}: a build has been committing for over {wait:g} s ({repo_dir / COMMIT_LOCK} "
                    "is held); check for a stuck scripts/build.py process."
                ) from None
            time.sleep(0.05)
