"""Pointing huggingface_hub, datasets and child processes at a local Hub's endpoint."""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Iterator
from unittest import mock

import datasets
import huggingface_hub
from huggingface_hub import constants


@contextlib.contextmanager
def clients_pointed_at(endpoint: str) -> Iterator[None]:
    """Make huggingface_hub, datasets and child processes use `endpoint` as the Hub, until the block ends.

    Both libraries copy HF_ENDPOINT into module constants when first imported, which in a
    test session is long before a local Hub has a port; so the constants are patched as
    well as the environment (which subprocesses read when they import the libraries).
    """
    host = urllib.parse.urlsplit(endpoint).hostname
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, {"HF_ENDPOINT": endpoint}))
        for owner, name, value in (
            (constants, "ENDPOINT", endpoint),
            (constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"),
            (constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {host}),
            (datasets.config, "HF_ENDPOINT", endpoint),
            (datasets.config, "HUB_DATASETS_URL", endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}"),
        ):
            stack.enter_context(mock.patch.object(owner, name, value))
        huggingface_hub.HfFileSystem.clear_instance_cache()  # instances remember the endpoint they were made with
        yield
    huggingface_hub.HfFileSystem.clear_instance_cache()
