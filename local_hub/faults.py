"""Fault plans: which data-file requests the front fails, and how, as a Hub or its CDN fails them mid-epoch."""

from __future__ import annotations

import dataclasses
import enum
import urllib.parse

from local_hub.storage import RESOLVE_URL

STALL_LIMIT = 60.0  # seconds a stalled answer holds its server thread at most: longer than any client read timeout
RETRY_AFTER_SECONDS = 1


class FaultKind(enum.StrEnum):
    """How a data-file request fails: the faults seen from the Hub and its CDN in long streamed runs."""

    RESET = "reset"  # the headers and part of the body, then the connection is reset (TCP RST)
    UNAVAILABLE = "503"  # 503 Service Unavailable, no body to speak of
    RATE_LIMITED = "429"  # 429 Too Many Requests with `Retry-After: 1`
    STALL = "stall"  # the headers and part of the body, then nothing until `stall_seconds` have passed, then a reset


@dataclasses.dataclass(frozen=True)
class Faults:
    """Which data-file requests fail, and how: the `first`-th request after arming and the `count - 1` after it.

    Data-file requests are GETs (ranged or whole) of a `.parquet` file under `/resolve/`: the
    reads a stream makes mid-epoch. `count=None` fails every one from `first` on (a Hub that
    stays down). Numbers count from 1, in the order the front received the requests.
    """

    kind: FaultKind
    first: int = 1
    count: int | None = 1
    stall_seconds: float = STALL_LIMIT

    def __post_init__(self) -> None:
        if self.first < 1 or (self.count is not None and self.count < 1):
            raise ValueError(f"faults number requests from 1 and fail at least one: {self}")
        if not 0 < self.stall_seconds <= STALL_LIMIT:
            raise ValueError(f"a stall lasts more than 0 and at most {STALL_LIMIT:g} s: {self}")

    def hits(self, number: int) -> bool:
        """Whether the `number`-th data-file request since arming fails."""
        return number >= self.first and (self.count is None or number < self.first + self.count)


def is_data_file_read(command: str, url_path: str) -> bool:
    """A GET of a Parquet file of a repo: what `Faults` fail (HEADs, API calls and the card pass)."""
    match = RESOLVE_URL.match(urllib.parse.urlsplit(url_path).path)
    return command == "GET" and match is not None and match["file"].endswith(".parquet")
