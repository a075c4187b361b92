"""A child process that may hang: run it in a session of its own, and kill the whole group past its bound.

A stream that hangs may hang in a DataLoader worker or a rank the child started; killing the
child alone would leave those behind, so the child leads a process group of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence


def run_bounded(
    command: Sequence[str], *, cwd: str | os.PathLike, env: Mapping[str, str], timeout: float
) -> tuple[int, str, str] | None:
    """`(returncode, stdout, stderr)`, or None when the child and its group outlived `timeout` seconds (killed)."""
    child = subprocess.Popen(
        list(command), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return None
    return child.returncode, stdout, stderr
