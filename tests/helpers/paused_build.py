"""A real build that pauses at a named step, for the kill tests.

    python -m tests.helpers.paused_build REPO ARCHIVES STEP


The build's code has no test hook; this child installs its own before calling
`build.build_repo`: it wraps the function that starts the step (or the one that ends it)
so that, there, the process says `paused at STEP` on stderr and waits to be killed. The
test reads stderr until it sees that line, then sends SIGKILL at exactly that point.

    generate              inside the `num_proc` workers, as each starts writing a shard
    staged                everything written in the work directory, nothing committed
    commit-journal        the commit's journal written, nothing swapped yet
    commit-swapped        data/ swapped, the infos and the card still the old ones
    commit-<first file>   the first committed file replaced, the rest still the old ones
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable

from scripts import build, repo_lock
from tests.helpers import synthetic

PAUSE_LIMIT = 300.0  # seconds a paused child waits for its kill at most: a test that died leaves no process behind


def pause(step: str) -> None:
    """Say where this process stopped, then wait to be killed (bounded)."""
    print(f"paused at {step} (pid {os.getpid()})", file=sys.stderr, flush=True)
    time.sleep(PAUSE_LIMIT)
    os._exit(1)


def pausing_before(step: str, function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args: object, **kwargs: object) -> object:
        pause(step)
        return function(*args, **kwargs)

    return wrapper


def pause_at(step: str) -> None:
    """Install the pause for `step` by replacing the module function that the build calls there."""
    first_file = repo_lock.COMMITTED_FILES[0]
    if step == "generate":  # before the fork, so every worker has it
        build.write_shard = pausing_before(step, build.write_shard)
    elif step == "staged":
        repo_lock.commit = pausing_before(step, repo_lock.commit)
    elif step == "commit-journal":
        repo_lock.roll_forward = pausing_before(step, repo_lock.roll_forward)
    elif step in ("commit-swapped", f"commit-{first_file}"):
        replace_file = repo_lock.replace_file

        def replacing(staged: object, repo_dir: object, name: str) -> None:
            if name == first_file and step == "commit-swapped":
                pause(step)
            replace_file(staged, repo_dir, name)
            if name == first_file and step == f"commit-{first_file}":
                pause(step)

        repo_lock.replace_file = replacing
    else:
        raise ValueError(f"no pause point named {step!r}")


def main(argv: list[str]) -> None:
    repo, archives, step = argv
    pause_at(step)
    table = synthetic.table_of(archives)
    build.build_repo(repo, num_proc=2, data_dir=archives, mirrors=[], system_dirs=[], archives=table)


if __name__ == "__main__":
    main(sys.argv[1:])
