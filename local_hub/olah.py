"""olah's process, and `LocalHub`: olah on a free port serving the git store, behind a `RangeFront`.

No real Hub is reachable from the test machines, and the user paths (`load_dataset`,
streaming, `snapshot_download`, `HfFileSystem`, the push's read of the remote file list)
are only worth testing against a server that speaks the Hub's HTTP API. `olah` (a
self-hosted Hub mirror) does, for plain git repositories in its `mirrors` directory.
"""

from __future__ import annotations

import http.client
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType

from local_hub.front import STOP_TIMEOUT, FrontHandler, RangeFront
from local_hub.storage import GitStore, StoredObject

OLAH_CLI = pathlib.Path(sys.executable).with_name("olah-cli")  # installed beside this interpreter (`test` extra)
START_TIMEOUT = 60.0  # seconds for olah to answer after launch (its imports take a few seconds)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def olah_config(port: int, mirrors: pathlib.Path, repos: pathlib.Path) -> str:
    """olah's TOML: serve the git repos of `mirrors` on 127.0.0.1:`port`, never asking huggingface.co."""
    # `offline = true`: with it false, olah asks huggingface.co first and every mirror request is a 504.
    return (
        "[basic]\n"
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        f'repos-path = "{repos}"\n'
        f'mirrors-path = ["{mirrors}"]\n'
        'mirror-scheme = "http"\n'
        f'mirror-netloc = "127.0.0.1:{port}"\n'
        f'mirror-lfs-netloc = "127.0.0.1:{port}"\n'
        "[accessibility]\n"
        "offline = true\n"
    )


class LocalHub:
    """olah on a free port plus a `RangeFront`; clients use `endpoint` (the front) as HF_ENDPOINT.

        with LocalHub(tmp_path) as hub:
            hub.publish("org/fashion_mnist", push_to_hub.upload_set(built_repo))
            with clients_pointed_at(hub.endpoint):
                load_dataset("org/fashion_mnist")

    `publish` may be called before or after `start`: olah reads the git repositories on
    every request.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = pathlib.Path(root)
        self.mirrors = self.root / "mirrors"
        self.repos = self.root / "repos"
        self.store = GitStore(self.mirrors, self.repos)
        self._olah: subprocess.Popen | None = None
        self._front: RangeFront | None = None
        self._port = 0

    @property
    def olah_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def endpoint(self) -> str:
        return self.front.url

    @property
    def front(self) -> RangeFront:
        """The front clients talk to: set its `link`, read its `counts`, arm its `faults`."""
        if self._front is None:
            raise RuntimeError("the local hub is not started")
        return self._front

    def publish(
        self, repo_id: str, files: Mapping[str, pathlib.Path], *, branch: str = "main", message: str = "publish"
    ) -> str:
        """Commit exactly `files` (repo path -> local file) as the content of `branch`; return the commit sha."""
        return self.store.publish(repo_id, files, branch=branch, message=message)

    def head(self, repo_id: str, branch: str = "main") -> str:
        """The commit sha `branch` points at."""
        return self.store.head(repo_id, branch)

    def stored_object(self, url_path: str) -> StoredObject | None:
        """The LFS object behind a `resolve` URL, if it is one (see `GitStore.stored_object`)."""
        return self.store.stored_object(url_path)

    def start(self) -> None:
        """Launch olah and the front; return once olah answers HTTP."""
        self._port = free_port()
        config = self.root / "olah.toml"
        config.write_text(olah_config(self._port, self.mirrors, self.repos), encoding="utf-8")
        log = open(self.root / "olah.log", "wb")  # noqa: SIM115 - the child process writes it until stop()
        self._olah = subprocess.Popen(
            [str(OLAH_CLI), "-c", str(config)], cwd=self.root, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self._wait_until_up()
        self._front = RangeFront(self.olah_url, self.routes(), self.stored_object)
        self._front.start()

    def routes(self) -> Callable[[FrontHandler], bool] | None:
        """Extra routes the front answers itself (none: a read-only Hub; `WritableHub` adds the write API)."""
        return None

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._olah is not None and self._olah.poll() is not None:
                raise RuntimeError(f"olah exited with {self._olah.returncode}; see {self.root / 'olah.log'}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=2)
                connection.request("GET", "/")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"olah did not answer within {START_TIMEOUT:.0f} s; see {self.root / 'olah.log'}")

    def stop(self) -> None:
        """Stop the front and olah (terminate, then kill if it has not exited in time)."""
        if self._front is not None:
            self._front.close()
            self._front = None
        if self._olah is not None:
            self._olah.terminate()
            try:
                self._olah.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._olah.kill()
                self._olah.wait(STOP_TIMEOUT)
            self._olah = None

    def __enter__(self) -> LocalHub:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
