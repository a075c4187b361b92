"""A Hugging Face Hub on 127.0.0.1: olah serving git repos, behind a front that honours `Range`, shapes the link
and injects faults; the tests and the benchmark both run against it.

    front.py      the Range front: link shaping, counts, fault injection; the one `Range` parse and TCP reset
    faults.py     fault plans (`Faults`, `FaultKind`)
    storage.py    the git repositories, stored as the Hub stores them (LFS pointers, `.git/lfs` content)
    olah.py       olah's process, and `LocalHub` (olah + front + store)
    clients.py    `clients_pointed_at`: huggingface_hub, datasets and child processes pointed at an endpoint
    write_api.py  `WritableHub`: the Hub's write API, a test double for the push's tests
"""

from local_hub.clients import clients_pointed_at
from local_hub.faults import STALL_LIMIT, FaultKind, Faults, is_data_file_read
from local_hub.front import COUNTS_PATH, PACE_BURST, Link, RangeFront, range_bounds, reset_connection
from local_hub.olah import OLAH_CLI, LocalHub, free_port
from local_hub.storage import LFS_SUFFIXES, StoredObject

__all__ = [
    "COUNTS_PATH",
    "LFS_SUFFIXES",
    "OLAH_CLI",
    "PACE_BURST",
    "STALL_LIMIT",
    "FaultKind",
    "Faults",
    "Link",
    "LocalHub",
    "RangeFront",
    "StoredObject",
    "clients_pointed_at",
    "free_port",
    "is_data_file_read",
    "range_bounds",
    "reset_connection",
]
