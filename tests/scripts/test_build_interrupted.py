"""scripts/build.py killed at any moment, and two builds at once: the repository is never left damaged.

A real build runs in a child process (`build_repo` with two `num_proc` workers) and pauses at a
named step (`tests/helpers/paused_build.py` installs the pause in the child; the build has no
hook) so the test can SIGKILL it exactly there. Then: no process of the build is left (every
process carrying the test's marker variable is found through /proc, whoever its parent now
is), verify passes (on the previous copy, or on the new one when the kill came inside the
commit, which the reader finishes), and the next build removes what the killed one left and
succeeds. The child builds other content (inverted images) than the repository holds, so a
mix of the two copies could not pass verify.
"""

from __future__ import annotations

import os
import pathlib
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from scripts import build, layout, repo_lock, verify
from tests.conftest import PROJECT_ROOT
from tests.helpers import synthetic
from tests.scripts.test_build import build_synthetic, file_digests

# step -> which copy verify must find after the kill: the previous one, or the new one the commit promised
STEPS = {
    "generate": "previous",  # inside the num_proc workers, while they write shards
    "staged": "previous",  # everything written in the work dir, nothing committed
    "commit-journal": "new",  # journal written, nothing swapped yet
    "commit-swapped": "new",  # data/ swapped, card and infos still the old ones
    f"commit-{layout.INFOS}": "new",  # infos replaced, card still the old one
}


@pytest.fixture
def other_archives(tmp_path: pathlib.Path) -> tuple[pathlib.Path, tuple]:
    """Archives with the same shape and other pixels: what the interrupted build was writing."""
    arrays = {name: 255 - array if array.ndim == 3 else array for name, array in synthetic.make_arrays().items()}
    directory = tmp_path / "other"
    return directory, synthetic.write_archives(directory, arrays)


def marked_processes(mark: str) -> list[int]:
    """Live (not zombie) processes whose environment carries `mark`: every process of one child build."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark.encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


class PausedBuild:
    """A child build paused at `step`, its stderr read until it says so."""

    def __init__(self, repo: pathlib.Path, archives: pathlib.Path, step: str) -> None:
        self.mark = f"FASHION_MNIST_TEST_MARK={uuid.uuid4().hex}"
        env = {**os.environ, self.mark.split("=")[0]: self.mark.split("=")[1]}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.paused_build", str(repo), str(archives), step],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.output = b""
        deadline = time.monotonic() + 90
        while f"paused at {step}".encode() not in self.output:
            assert time.monotonic() < deadline and self.process.poll() is None, self.output.decode()[-3000:]
            if select.select([self.process.stderr], [], [], 0.5)[0]:
                self.output += os.read(self.process.stderr.fileno(), 65536)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process.stderr.close()

    def processes_left(self, within: float = 5.0) -> list[int]:
        deadline = time.monotonic() + within
        while (left := marked_processes(self.mark)) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left


@pytest.fixture
def paused() -> Iterator[list[PausedBuild]]:
    """Child builds of one test; any still running at the end is killed."""
    builds: list[PausedBuild] = []
    yield builds
    for child in builds:
        if child.process.poll() is None:
            child.kill()


@pytest.mark.parametrize("step", list(STEPS))
def test_sigkill_at_any_step_leaves_a_valid_copy_and_no_process(
    step: str,
    synthetic_repo: tuple[pathlib.Path, tuple],
    synthetic_archives: tuple[pathlib.Path, tuple],
    other_archives: tuple[pathlib.Path, tuple],
    paused: list[PausedBuild],
) -> None:
    repo, table = synthetic_repo
    before = file_digests(repo)
    child = PausedBuild(repo, other_archives[0], step)
    paused.append(child)
    if step == "generate":  # the build and its two workers are all running
        assert len(marked_processes(child.mark)) >= 3, child.output.decode()
    if STEPS[step] == "previous":  # no commit under way: a reader needs no wait, the previous copy is valid
        assert verify.verify_repo(repo, archives=table)
    child.kill()

    assert child.processes_left() == [], "processes of the killed build are still running"
    assert list(repo.glob(repo_lock.WORK_PREFIX + "*")), "the killed build left nothing: the test proves nothing"
    expected_table = table if STEPS[step] == "previous" else other_archives[1]
    assert verify.verify_repo(repo, archives=expected_table)  # finishes an interrupted commit first
    if STEPS[step] == "previous":
        assert file_digests(repo) == before

    summary = build_synthetic(repo, synthetic_archives)  # the next build cleans up and succeeds
    assert summary.shards and not list(repo.glob(repo_lock.WORK_PREFIX + "*"))
    assert file_digests(repo) == before
    assert verify.verify_repo(repo, archives=table)


def test_second_build_is_refused_while_one_runs(
    synthetic_repo: tuple[pathlib.Path, tuple],
    synthetic_archives: tuple[pathlib.Path, tuple],
    other_archives: tuple[pathlib.Path, tuple],
    paused: list[PausedBuild],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, table = synthetic_repo
    before = file_digests(repo)
    child = PausedBuild(repo, other_archives[0], "staged")
    paused.append(child)
    with pytest.raises(repo_lock.RepoBusyError, match=rf"another build \(pid {child.process.pid}\) is writing"):
        build_synthetic(repo, synthetic_archives)
    code = build.main(["--data-dir", str(synthetic_archives[0]), "--repo-dir", str(repo)])
    assert code == 1 and f"pid {child.process.pid}" in capsys.readouterr().err
    assert file_digests(repo) == before and len(list(repo.glob(repo_lock.WORK_PREFIX + "*"))) == 1
    child.kill()
    build_synthetic(repo, synthetic_archives)
    assert verify.verify_repo(repo, archives=table)
