"""The Hub's HTTP write API on 127.0.0.1, for tests: a test double, and a last resort.

No open-source server implements the Hugging Face Hub's write API (olah, which serves
the local Hub's reads, answers 404/405 to create_repo, upload and commit), and no real
Hub is reachable from the test machines. So this module answers, on the local Hub's
one endpoint (its `RangeFront`), exactly the requests that the installed
huggingface_hub (2.4) sends for `create_repo`, `create_commit` and `create_branch`, in
their wire format, and applies each commit to the git repository olah serves, so every
read after a push goes through olah as before:

    POST /api/repos/create                              {name, organization, type, visibility}
    POST /api/validate-yaml                             README metadata check (always accepted here)
    POST /api/datasets/{repo}/preupload/{rev}           -> uploadMode "lfs" or "regular" per file
    POST /datasets/{repo}.git/info/lfs/objects/batch    LFS batch API, "basic" transfer, with a verify action
    PUT  /__lfs__/{oid}?key=K                            the object's bytes (the batch answer's pre-signed href)
    POST /__lfs__/verify                                 {oid, size}
    POST /api/datasets/{repo}/commit/{rev}[?create_pr=1] NDJSON: header (parentCommit), file, lfsFile,
                                                        deletedFile, deletedFolder
    POST /api/datasets/{repo}/branch/{branch}           {startingPoint?}

Every other request goes on to olah. Commits are stored as the Hub stores them: LFS
files as pointers in git with their content in `.git/lfs/objects`, small text files as
git blobs; a new repo starts with a `.gitattributes` commit. A commit is built on a
scratch index from the branch's head and moved in with `git update-ref <new> <old>`,
so it lands whole or not at all; a `parentCommit` that is no longer the head is refused
with 412, as the Hub does. A PR commit goes to `refs/pr/N` and leaves the branch alone.
LFS objects are written under a temporary name and moved in only once their SHA-256
and size match, so a cut-off upload leaves nothing behind.

Not covered (not needed by the push): the Xet transfer (tests set HF_HUB_DISABLE_XET, so
huggingface_hub uses the LFS protocol the Hub still accepts), multipart LFS uploads,
copies, discussions, `oid` in preupload answers, visibility beyond recording it.

Tests can inspect `received` (every request the front saw, bodies included), cut the
next LFS uploads off half-way (`cut_uploads`), run an action when a route is next hit
(`on_next`), e.g. to land another commit between a push's plan and its commit, and make
the next requests of a route fail (`fail`): an error answer in the Hub's form (a busy
repo's 409, a rate limit's 429 with `Retry-After`, a 5xx), or a connection closed with no
answer at all, as a lost connection looks to the client. A failed request changes nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import pathlib
import re
import secrets
import tempfile
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from local_hub.front import FrontHandler
from local_hub.olah import LocalHub
from local_hub.storage import LFS_SUFFIXES, git, git_bytes, lfs_object_path, lfs_pointer_text

GITATTRIBUTES = "".join(f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in LFS_SUFFIXES)
LFS_THRESHOLD = 10 * 1024 * 1024  # the Hub stores files of 10 MB and more in LFS whatever their name
NO_PARENT = "0" * 40

_REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
ROUTES = {
    ("POST", re.compile(r"/api/repos/create$")): "create_repo",
    ("POST", re.compile(r"/api/validate-yaml$")): "validate_yaml",
    ("POST", re.compile(rf"/api/datasets/{_REPO}/preupload/(?P<rev>.+)$")): "preupload",
    ("POST", re.compile(rf"/datasets/{_REPO}\.git/info/lfs/objects/batch$")): "lfs_batch",
    ("PUT", re.compile(r"/__lfs__/(?P<oid>[0-9a-f]{64})$")): "lfs_upload",
    ("POST", re.compile(r"/__lfs__/verify$")): "lfs_verify",
    ("POST", re.compile(rf"/api/datasets/{_REPO}/commit/(?P<rev>.+)$")): "commit",
    ("POST", re.compile(rf"/api/datasets/{_REPO}/branch/(?P<branch>.+)$")): "create_branch",
}


@dataclasses.dataclass(frozen=True)
class Received:
    """One request as the front saw it (for a cut-off upload, the bytes that arrived)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    route: str | None  # the write route that answered it; None if it went on to olah


API_READ = "api_read"  # `fail` route name of the `/api/` requests that go on to olah: a push plan's reads


@dataclasses.dataclass
class Fault:
    """How the front answers the next `times` requests of a route: HTTP `status`, or (None) no answer at all."""

    status: int | None
    message: str
    headers: dict[str, str]
    times: int


class HubError(Exception):
    """An error answer in the Hub's form: status, `X-Error-Code` and `X-Error-Message`."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class WritableHub(LocalHub):
    """A `LocalHub` whose front also answers the Hub's write API (see the module docstring)."""

    def __init__(self, root: str | os.PathLike, *, token: str | None = None) -> None:
        super().__init__(root)
        self.token = token  # if set, writes need `Authorization: Bearer <token>`; any bearer token otherwise
        self.received: list[Received] = []
        self.visibility: dict[str, str | None] = {}  # repo id -> what create_repo asked for
        self._lock = threading.Lock()  # one commit (and one ref update) at a time
        self._cuts = 0
        self._upload_keys: dict[str, tuple[str, str]] = {}  # the key in an upload href -> (repo id, oid)
        self._actions: dict[str, Callable[[], None]] = {}
        self._faults: dict[str, Fault] = {}

    # --- What tests use --------------------------------------------------------------

    def cut_uploads(self, times: int) -> None:
        """Cut the next `times` LFS uploads off half-way: read half the body, then drop the connection."""
        self._cuts = times

    def fail(
        self,
        route: str,
        status: int | None,
        message: str = "",
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Fail the next `times` requests of `route` (a write route, or `API_READ`), before anything is applied.

        With a `status`, answer it in the Hub's error form (`message` in the body and in
        `X-Error-Message`, plus `headers`); with None, read the request and close the
        connection without a word. `times=0` clears the fault.
        """
        self._faults[route] = Fault(status, message, dict(headers or {}), times)

    def on_next(self, route: str, action: Callable[[], None]) -> None:
        """Run `action` once, when `route` (e.g. "commit") is next requested, before answering it."""
        self._actions[route] = action

    def repo_dir(self, repo_id: str) -> pathlib.Path:
        return self.store.repo_dir(repo_id)

    def ref(self, repo_id: str, ref: str) -> str | None:
        """The commit `ref` (e.g. refs/heads/main, refs/pr/1) points at; None if there is no such ref."""
        found = git(self.repo_dir(repo_id), "for-each-ref", "--format=%(objectname)", ref)
        return found or None

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """Path -> content of every file at `revision`, LFS files resolved to their stored content."""
        repo = self.repo_dir(repo_id)
        paths = git(repo, "ls-tree", "-r", "--name-only", revision).splitlines()
        contents = {}
        for path in paths:
            blob = git_bytes(repo, "cat-file", "blob", f"{revision}:{path}")
            pointer = re.match(rb"version https://git-lfs.github.com/spec/v1\noid sha256:([0-9a-f]{64})\n", blob)
            contents[path] = lfs_object_path(repo / ".git", pointer[1].decode()).read_bytes() if pointer else blob
        return contents

    # --- The routes --------------------------------------------------------------------

    def routes(self) -> Callable[[FrontHandler], bool]:
        return self._answer

    def _answer(self, handler: FrontHandler) -> bool:
        url = urllib.parse.urlsplit(handler.path)
        route, arguments = _route(handler.command, url.path)
        name = route or (API_READ if url.path.startswith("/api/") else None)
        if name and (fault := self._take_fault(name)):
            self._record(handler, handler.body(), f"{name} (failed: {fault.status or 'no answer'})")
            if fault.status is None:
                handler.close_connection = True
            else:
                error = HubError(fault.status, fault.message)
                self._send(handler, fault.status, {"error": fault.message}, error, fault.headers)
            return True
        if route is None:
            self._record(handler, handler.body(), None)
            return False
        if route == "lfs_upload" and self._take_cut():
            self._cut_off(handler)
            return True
        body = handler.body()
        self._record(handler, body, route)
        if action := self._actions.pop(route, None):
            action()
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            if route != "lfs_upload":  # an upload href is pre-signed (on the Hub, an S3 URL): no token
                self._check_token(handler)
            status, answer = getattr(self, f"_{route}")(handler, body, query, **arguments)
        except HubError as error:
            self._send(handler, error.status, {"error": error.message}, error)
        else:
            self._send(handler, status, answer)
        return True

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get(route)
            if fault is None or fault.times <= 0:
                return None
            fault.times -= 1
        return fault

    def _take_cut(self) -> bool:
        with self._lock:
            cut, self._cuts = self._cuts > 0, max(self._cuts - 1, 0)
        return cut

    def _record(self, handler: FrontHandler, body: bytes, route: str | None) -> None:
        self.received.append(Received(handler.command, handler.path, dict(handler.headers.items()), body, route))

    def _check_token(self, handler: FrontHandler) -> None:
        given = handler.headers.get("Authorization", "")
        if not given.startswith("Bearer ") or (self.token is not None and given != f"Bearer {self.token}"):
            raise HubError(401, "Invalid credentials in Authorization header")

    def _send(
        self,
        handler: FrontHandler,
        status: int,
        answer: dict,
        error: HubError | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        payload = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if error is not None:
            handler.send_header("X-Error-Message", error.message)
            if error.code:
                handler.send_header("X-Error-Code", error.code)
        handler.end_headers()
        handler.wfile.write(payload)

    def _cut_off(self, handler: FrontHandler) -> None:
        """Read half of the upload, answer nothing and close the connection: the client sees a network error."""
        length = int(handler.headers.get("Content-Length") or 0)
        partial = handler.rfile.read(length // 2) if length else handler.rfile.readline()
        self._record(handler, partial, "lfs_upload (cut off)")
        handler.close_connection = True

    def _existing(self, repo_id: str) -> pathlib.Path:
        repo = self.repo_dir(repo_id)
        if not (repo / ".git").is_dir():
            raise HubError(404, f"Repository datasets/{repo_id} not found", "RepoNotFound")
        return repo

    def _head(self, repo_id: str, branch: str) -> str:
        head = self.ref(repo_id, f"refs/heads/{branch}")
        if head is None:
            raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        return head

    def _create_repo(self, handler: FrontHandler, body: bytes, query: dict, **_: str) -> tuple[int, dict]:
        request = json.loads(body)
        repo_id = f"{request.get('organization')}/{request['name']}"
        if request.get("type") != "dataset":
            raise HubError(400, "this test double only hosts dataset repos")
        url = f"{handler.server.front_url}/datasets/{repo_id}"
        if (self.repo_dir(repo_id) / ".git").is_dir():
            raise HubError(409, "You already created this dataset repo")
        self.visibility[repo_id] = request.get("visibility")
        with tempfile.TemporaryDirectory(dir=self.root) as scratch:
            attributes = pathlib.Path(scratch) / ".gitattributes"
            attributes.write_text(GITATTRIBUTES, encoding="utf-8")
            self.publish(repo_id, {".gitattributes": attributes}, message="initial commit")
        return 200, {"url": url, "name": repo_id}

    def _validate_yaml(self, handler: FrontHandler, body: bytes, query: dict, **_: str) -> tuple[int, dict]:
        return 200, {"errors": [], "warnings": []}

    def _preupload(self, handler: FrontHandler, body: bytes, query: dict, repo: str, rev: str) -> tuple[int, dict]:
        self._existing(repo)
        self._head(repo, urllib.parse.unquote(rev))
        files = []
        for entry in json.loads(body)["files"]:
            binary = b"\0" in base64.b64decode(entry["sample"])
            lfs = entry["path"].endswith(LFS_SUFFIXES) or entry["size"] >= LFS_THRESHOLD or binary
            files.append({"path": entry["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False})
        return 200, {"files": files}

    def _lfs_batch(self, handler: FrontHandler, body: bytes, query: dict, repo: str) -> tuple[int, dict]:
        git_dir = self._existing(repo) / ".git"
        request = json.loads(body)
        if request.get("operation") != "upload" or "basic" not in request.get("transfers", ["basic"]):
            raise HubError(400, "only uploads with the basic transfer are implemented")
        objects = []
        for wanted in request["objects"]:
            oid, size = wanted["oid"], wanted["size"]
            answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            stored = lfs_object_path(git_dir, oid)
            if not (stored.is_file() and stored.stat().st_size == size):  # already there: no actions, no upload
                base = f"{handler.server.front_url}/__lfs__"
                key = secrets.token_hex(16)
                self._upload_keys[key] = (repo, oid)
                answer["actions"] = {
                    "upload": {"href": f"{base}/{oid}?key={key}"},
                    "verify": {"href": f"{base}/verify?repo={urllib.parse.quote(repo)}"},
                }
            objects.append(answer)
        return 200, {"transfer": "basic", "objects": objects}

    def _lfs_upload(self, handler: FrontHandler, body: bytes, query: dict, oid: str) -> tuple[int, dict]:
        repo, signed_oid = self._upload_keys.get(query.get("key", ""), ("", ""))
        if signed_oid != oid:
            raise HubError(403, "this upload URL was not issued for this object")
        git_dir = self._existing(repo) / ".git"
        if hashlib.sha256(body).hexdigest() != oid:
            raise HubError(400, f"the uploaded content does not hash to {oid}")
        stored = lfs_object_path(git_dir, oid)
        stored.parent.mkdir(parents=True, exist_ok=True)
        partial = stored.with_name(f"{oid}.partial-{threading.get_ident()}")
        partial.write_bytes(body)
        os.replace(partial, stored)
        return 200, {}

    def _lfs_verify(self, handler: FrontHandler, body: bytes, query: dict) -> tuple[int, dict]:
        git_dir = self._existing(query.get("repo", "")) / ".git"
        request = json.loads(body)
        stored = lfs_object_path(git_dir, request["oid"])
        if not (stored.is_file() and stored.stat().st_size == request["size"]):
            raise HubError(404, f"LFS object {request['oid']} of {request['size']} bytes not found")
        return 200, {}

    def _commit(self, handler: FrontHandler, body: bytes, query: dict, repo: str, rev: str) -> tuple[int, dict]:
        repo_dir = self._existing(repo)
        branch = urllib.parse.unquote(rev)
        header, *operations = (json.loads(line) for line in body.splitlines() if line.strip())
        if header.get("key") != "header":
            raise HubError(400, "the first NDJSON line must be the header")
        with self._lock:
            head = self._head(repo, branch)
            parent = header["value"].get("parentCommit")
            if parent is not None and parent != head:
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            commit = self._build_commit(repo_dir, head, operations, header["value"])
            base = f"{handler.server.front_url}/datasets/{repo}"
            answer = {"success": True, "commitOid": commit, "commitUrl": f"{base}/commit/{commit}"}
            if query.get("create_pr") == "1":
                number = 1 + sum(1 for _ in git(repo_dir, "for-each-ref", "refs/pr/").splitlines())
                git(repo_dir, "update-ref", f"refs/pr/{number}", commit, NO_PARENT)
                answer |= {"pullRequestUrl": f"{base}/discussions/{number}", "pullRequestNum": number}
            else:
                git(repo_dir, "update-ref", f"refs/heads/{branch}", commit, head)
                if branch == "main":
                    self.store.write_meta_head(repo, commit)
        return 200, answer

    def _build_commit(self, repo_dir: pathlib.Path, head: str, operations: list[dict], header: dict) -> str:
        """A commit on top of `head` with the operations applied, built on a scratch index; no ref moves."""
        with tempfile.TemporaryDirectory(dir=self.root) as scratch:
            index = {"GIT_INDEX_FILE": str(pathlib.Path(scratch) / "index")}
            git(repo_dir, "read-tree", head, env=index)
            present = set(git(repo_dir, "ls-files", env=index).splitlines())
            for number, operation in enumerate(operations):
                key, value = operation["key"], operation["value"]
                path = _checked_path(value["path"].rstrip("/") if key == "deletedFolder" else value["path"])
                if key in ("file", "lfsFile"):
                    if key == "file":
                        content = base64.b64decode(value["content"])
                    else:
                        stored = lfs_object_path(repo_dir / ".git", value["oid"])
                        if not stored.is_file():
                            raise HubError(422, f"{path}: LFS object {value['oid']} was never uploaded")
                        content = lfs_pointer_text(value["oid"], stored.stat().st_size)
                    blob_file = pathlib.Path(scratch) / f"blob-{number}"
                    blob_file.write_bytes(content)
                    blob = git(repo_dir, "hash-object", "-w", str(blob_file))
                    git(repo_dir, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
                elif key == "deletedFile":
                    if path not in present:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    git(repo_dir, "update-index", "--force-remove", path, env=index)
                elif key == "deletedFolder":
                    git(repo_dir, "rm", "-r", "-q", "--cached", "--ignore-unmatch", path, env=index)
                else:
                    raise HubError(400, f"unknown commit operation {key!r}")
            tree = git(repo_dir, "write-tree", env=index)
        message = header["summary"] + (f"\n\n{header['description']}" if header.get("description") else "")
        return git(repo_dir, "commit-tree", tree, "-p", head, "-m", message)

    def _create_branch(self, handler: FrontHandler, body: bytes, query: dict, repo: str, branch: str) -> tuple:
        repo_dir = self._existing(repo)
        branch = urllib.parse.unquote(branch)
        start = (json.loads(body) if body else {}).get("startingPoint") or "main"
        with self._lock:
            if self.ref(repo, f"refs/heads/{branch}") is not None:
                raise HubError(409, f"Reference refs/heads/{branch} already exists")
            commit = self.ref(repo, f"refs/heads/{start}") or start
            git(repo_dir, "update-ref", f"refs/heads/{branch}", commit, NO_PARENT)
        return 200, {}


def _route(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    """The write route answering `method path`, with the parts of the path it names; (None, {}) for reads."""
    for (route_method, pattern), route in ROUTES.items():
        if method == route_method and (match := pattern.match(path)):
            return route, match.groupdict()
    return None, {}


def _checked_path(path: str) -> str:
    """A path in the repo: relative, no `..`, nothing inside `.git`."""
    parts = pathlib.PurePosixPath(path).parts
    if not parts or path.startswith("/") or ".." in parts or parts[0] == ".git":
        raise HubError(400, f"invalid path in repo: {path!r}")
    return path
