"""The dataset card (README.md): generated YAML metadata and generated blocks in hand-written prose.

Everything factual comes from the builder module (features, label names, archives,
citation) and from the shards the build wrote; the prose between the generated
blocks is kept as the maintainers wrote it.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import re

import datasets
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

import fashion_mnist
from scripts import layout

FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


@dataclasses.dataclass(frozen=True)
class CardFacts:
    """What the card states that is not in the builder module: the Hub copy's own numbers."""

    infos: dict[str, datasets.DatasetInfo]  # config -> the builder's info, with the copy's splits and sizes
    label_counts: dict[str, list[int]]  # split -> examples per class (the same in every config)
    repo_id: str
    parquet_bytes: dict[str, dict[str, int]]  # config -> split -> bytes of its Parquet files

    @property
    def info(self) -> datasets.DatasetInfo:
        """The default config's info."""
        return self.infos[fashion_mnist.NAME]

    @property
    def shard_counts(self) -> dict[str, int]:
        """split -> number of Parquet files of each config, from the rows recorded per file."""
        return {name: len(split.shard_lengths or []) for name, split in self.info.splits.items()}


def size_category(num_examples: int) -> str:
    """The Hub's `size_categories` bucket for a number of examples."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]
    return next((name for bound, name in bounds if num_examples < bound), "1M<n<10M")


def card_data(facts: CardFacts) -> DatasetCardData:
    """The card's YAML: Hub metadata and the `configs` that map splits to shards; no `dataset_info`.

    The default config comes first: the dataset viewer opens it. The per-config metadata
    (features, splits, sizes, and the description, citation, homepage, license and
    supervised keys) lives in `dataset_infos.json` alone, one entry per config named as
    here. A YAML `dataset_info` would replace the matching JSON entry whole on every
    datasets version from 2.x to 5.x, and it cannot hold the description and the rest:
    that is how they used to be lost. The features stay in each shard's schema too.
    """
    info = facts.info
    data = DatasetCardData(
        pretty_name="Fashion-MNIST",
        annotations_creators=["expert-generated"],
        language_creators=["found"],
        language=["en"],
        license=[fashion_mnist.LICENSE],
        multilinguality=["monolingual"],
        size_categories=[size_category(sum(split.num_examples for split in info.splits.values()))],
        source_datasets=["original"],
        task_categories=["image-classification"],
        task_ids=["multi-class-image-classification"],
        paperswithcode_id="fashion-mnist",
    )
    configs = {
        name: {
            "data_files": [{"split": split, "path": layout.split_glob(name, split)} for split in config_info.splits],
        }
        | ({"default": True} if name == fashion_mnist.NAME else {})
        for name, config_info in facts.infos.items()
    }
    MetadataConfigs(configs).to_dataset_card_data(data)
    return data


def add_update_card_argument(parser: argparse.ArgumentParser, block: str) -> None:
    """`--update-card [README]`: a script that measures something writes its tables into one block of the card."""
    parser.add_argument(
        "--update-card",
        nargs="?",
        const=layout.PROJECT_ROOT / layout.CARD,
        type=pathlib.Path,
        metavar="README",
        help=f"write the tables into the card's `{block}` block (default card: this repository's README.md)",
    )


def write_block(readme: pathlib.Path, name: str, content: str) -> None:
    """Replace one generated block of the card file in place (atomically), leaving the rest as it is."""
    layout.write_atomic(readme, replace_block(readme.read_text(encoding="utf-8"), name, content))


def replace_block(text: str, name: str, content: str) -> str:
    """Put `content` between the markers of block `name`; the markers must be in `text`."""
    pattern = re.compile(
        rf"(<!-- BEGIN GENERATED: {re.escape(name)} -->\n).*?(<!-- END GENERATED: {re.escape(name)} -->)", re.S
    )
    if not pattern.search(text):
        raise ValueError(
            f"the card template has no generated block {name!r}: expected the lines "
            f"'<!-- BEGIN GENERATED: {name} -->' and '<!-- END GENERATED: {name} -->'; add them where it belongs"
        )
    return pattern.sub(lambda match: match.group(1) + content.strip("\n") + "\n" + match.group(2), text, count=1)


def render_card(template: str, facts: CardFacts) -> str:
    """The full README.md: fresh front matter, every generated block refreshed, prose kept."""
    body = FRONT_MATTER.sub("", template, count=1)
    for name, render in BLOCKS.items():
        body = replace_block(body, name, render(facts))
    card = DatasetCard(f"---\n{card_data(facts).to_yaml()}\n---\n{body}")
    return str(card)


# --- Generated blocks ----------------------------------------------------------------


def _summary(facts: CardFacts) -> str:
    counts = ", ".join(f"{split.num_examples:,} {name}" for name, split in facts.info.splits.items())
    return (
        f"{fashion_mnist.DESCRIPTION}\n\n"
        f"This copy holds {counts} examples, each a PNG image and one of "
        f"{len(fashion_mnist.LABEL_NAMES)} labels, built from the original archives and proven "
        f"lossless against them.\n\n"
        f"![A few examples of each class, one class per pair of rows]({layout.PREVIEW})"
    )


def _labels(facts: CardFacts) -> str:
    splits = list(facts.label_counts)
    lines = ["| label | name | " + " | ".join(splits) + " |", "|---|---|" + "---:|" * len(splits)]
    for label, name in enumerate(fashion_mnist.LABEL_NAMES):
        counts = " | ".join(f"{facts.label_counts[split][label]:,}" for split in splits)
        lines.append(f"| {label} | {name} | {counts} |")
    return "\n".join(lines)


def _splits(facts: CardFacts) -> str:
    lines = ["| config | split | examples | Parquet files | Parquet bytes |", "|---|---|---:|---:|---:|"]
    for config, info in facts.infos.items():
        shard_bytes = facts.parquet_bytes.get(config, {})
        for name, split in info.splits.items():
            files = len(split.shard_lengths or [])
            lines.append(
                f"| `{config}` | {name} | {split.num_examples:,} | {files} in `{layout.CONFIG_DIRS[config]}/` | "
                f"{shard_bytes.get(name, 0):,} |"
            )
    return "\n".join(lines)


def _fields(facts: CardFacts) -> str:
    label = (
        f"| `label` | `ClassLabel` ({len(fashion_mnist.LABEL_NAMES)} names) | the article class, an integer 0-9; "
        "`features['label'].int2str(i)` gives its name |"
    )
    return (
        f"Config `{fashion_mnist.NAME}` (the default):\n\n"
        "| field | type | meaning |\n|---|---|---|\n"
        "| `image` | `Image()` | a 28x28 grayscale (mode `L`) PNG; decoded to a `PIL.Image.Image` |\n"
        f"{label}\n\n"
        f"Config `{fashion_mnist.PIXELS}`:\n\n"
        "| field | type | meaning |\n|---|---|---|\n"
        f"| `pixels` | `Sequence(Value('uint8'), length={fashion_mnist.NUM_PIXELS})` | the same image's pixels, "
        f"row-major: `reshape({fashion_mnist.IMAGE_SHAPE[0]}, {fashion_mnist.IMAGE_SHAPE[1]})` gives the image; "
        "0 is black, 255 white |\n"
        f"{label}"
    )


def _usage(facts: CardFacts) -> str:
    repo, files = facts.repo_id, facts.shard_counts.get("train", 0)
    both_files = sum(facts.shard_counts.values())
    image, pixels = fashion_mnist.NAME, fashion_mnist.PIXELS
    return f"""\
Two configs hold the same 70,000 examples in the same order:

- `{image}` (the default, shown by the dataset viewer): each image a PNG, decoded to a
  `PIL.Image`. Pick it for PIL-based transforms and image processors.
- `{pixels}`: each image as its 784 raw uint8 pixels (28 rows of 28), no decoding at all. Pick it
  whenever you want arrays or tensors: it is the fastest way to Fashion-MNIST, faster than
  Keras' `load_data()` and torchvision's `FashionMNIST` (see Performance below).

```python
from datasets import load_dataset

dataset = load_dataset("{repo}")  # DatasetDict: train, test; images as PIL
pixels = load_dataset("{repo}", "{pixels}", split="test")  # the same test split, raw pixels
names = pixels.features["label"].names  # ['T-shirt/top', 'Trouser', ...]
```

**The whole split as arrays**, as Keras' `load_data()` gives them. Pass `dtype`: the numpy
and torch formats widen integer columns to int64 otherwise (8 times the memory).

```python
import numpy as np
from datasets import load_dataset

train = load_dataset("{repo}", "{pixels}", split="train").with_format("numpy", dtype=np.uint8)[:]
x_train, y_train = train["pixels"].reshape(-1, 28, 28), train["label"]  # (60000, 28, 28) and (60000,) uint8
```

From the default config, read the PNG bytes undecoded and decode them in one loop (as fast
as decoding with PIL gets; `with_format("numpy")["image"][:]` takes about 1.5 times as long):

```python
import io
import numpy as np
from PIL import Image as PILImage
from datasets import Image, load_dataset

train = load_dataset("{repo}", split="train").cast_column("image", Image(decode=False))[:]
images = np.stack([np.asarray(PILImage.open(io.BytesIO(image["bytes"]))) for image in train["image"]])
labels = np.asarray(train["label"])
```

**Training with PyTorch.** The train split's pixels are 47 MB: hold them as two tensors
and index a shuffled batch at a time. `DataLoader(ds.with_format("torch"), shuffle=True)`
works too, but `datasets` then gathers and converts each example on its own, several times
slower.

```python
import torch
from datasets import load_dataset

train = load_dataset("{repo}", "{pixels}", split="train").with_format("torch", dtype=torch.uint8)[:]
images, labels = train["pixels"].view(-1, 1, 28, 28), train["label"].long()
for epoch in range(2):
    for batch in torch.randperm(len(labels)).split(256):
        x, y = images[batch].float() / 255, labels[batch]  # (256, 1, 28, 28) in [0, 1], (256,)
```

With PIL images, let the `DataLoader` workers decode a whole batch in one transform:

```python
import io
import numpy as np, torch
from PIL import Image as PILImage
from datasets import Image, load_dataset

def to_tensors(batch):
    pixels = np.stack([np.asarray(PILImage.open(io.BytesIO(image["bytes"]))) for image in batch["image"]])
    pixel_values = torch.from_numpy(pixels).unsqueeze(1).float() / 255
    return {{"pixel_values": pixel_values, "labels": torch.tensor(batch["label"])}}

train = load_dataset("{repo}", split="train").cast_column("image", Image(decode=False)).with_transform(to_tensors)
loader = torch.utils.data.DataLoader(train, batch_size=256, shuffle=True, num_workers=2)
for batch in loader:
    x, y = batch["pixel_values"], batch["labels"]
```

**Streaming**, into a `DataLoader` with several workers: each worker reads whole files (the
train split has {files}, so up to {files} workers share it). Let the workers build whole batches
so the main process only receives tensors; `max_buffer_input_shards=1` keeps `shuffle` from
pausing 5 s at the end of every epoch (`datasets` 5.2). For `{pixels}`, keep each batch an
Arrow table (`with_format("arrow")` before `.batch`) and make tensors of it in the `collate_fn`,
which runs in the workers: any other format converts each of the 256 examples on its own.
Its data path is so cheap that from local files on a small machine `num_workers=0` is
faster still (a worker's start-up and hand-over cost more than it saves); from the Hub,
give it workers too: they overlap the downloads with training.

**Download or stream, over the internet.** A first `load_dataset` fetches a config's
{both_files} files over up to 16 connections at once (`datasets` does so for a split of 16
files or more), then every run reads the local cache. Where each connection gets its own
bandwidth, that is about twice as fast as the same rows in one file per split, and faster
than Keras' download of its four archives; where the user's own link is the limit, it is
a little faster than one file per split and takes 1.2-1.5 times Keras' download: as many
bytes, within 7%, and then `datasets` writes its Arrow cache (the figures: Performance,
and `benchmarks/run.py --long`). A stream fetches the files again every epoch, two
requests a file, one after another within each worker, so each far-away round trip stalls
that worker. Train for more than one epoch? Download. Stream to start at once, to read
only part of the data, or where the disk is short; then use 2 or more workers, and 4
where the Hub is far away: idle workers waiting on round trips cost no CPU.

```python
import numpy as np, torch
from datasets import load_dataset

def to_tensors(table):  # a pyarrow.Table whose one row holds a batch of 256 examples
    pixels = table["pixels"][0].values.flatten().to_numpy().reshape(-1, 1, 28, 28)
    labels = table["label"][0].values.to_numpy()
    return torch.from_numpy(pixels.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))

stream = load_dataset("{repo}", "{pixels}", split="train", streaming=True)
stream = stream.shuffle(seed=0, buffer_size=10_000, max_buffer_input_shards=1)
stream = stream.with_format("arrow").batch(256)
loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2, collate_fn=to_tensors)
for x, y in loader:
    pass  # x: (256, 1, 28, 28) float32 in [0, 1], y: (256,) int64
```

```python
import io
import numpy as np, torch
from PIL import Image as PILImage
from datasets import Image, load_dataset

def to_arrays(batch):
    pixels = np.stack([np.asarray(PILImage.open(io.BytesIO(image["bytes"]))) for image in batch["image"]])
    return {{"pixel_values": pixels[:, None].astype(np.float32) / 255.0, "labels": np.asarray(batch["label"])}}

stream = load_dataset("{repo}", split="train", streaming=True).cast_column("image", Image(decode=False))
stream = stream.shuffle(seed=0, buffer_size=10_000, max_buffer_input_shards=1)
stream = stream.batch(256).map(to_arrays, remove_columns=["image", "label"]).with_format("torch")
loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
for batch in loader:
    x, y = batch["pixel_values"], batch["labels"]
```

With the `transformers` `Trainer`, a stream has no length: give `max_steps`. The Trainer
makes its own batches, so give it the stream without `.batch(256)`, with a batched `map`
to model inputs; `examples/train_trainer.py` in the source repository is a complete run,
`--config {pixels}` for the decode-free config.

Several nodes: split the stream before shuffling and batching. When `world_size` divides
the number of files ({files} for train), each rank reads whole files of its own; otherwise
every rank reads every file and keeps one example in `world_size`.

```python
import os
from datasets import load_dataset
from datasets.distributed import split_dataset_by_node

rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
stream = load_dataset("{repo}", "{pixels}", split="train", streaming=True)
stream = split_dataset_by_node(stream, rank=rank, world_size=world_size)  # then shuffle and batch as above
```"""


def _tools(facts: CardFacts) -> str:
    repo = facts.repo_id
    test = facts.info.splits["test"]
    test_shard = layout.shard_path(fashion_mnist.NAME, "test", 0, facts.shard_counts.get("test", 1))
    first_rows = (test.shard_lengths or [test.num_examples])[0]
    pixels_train = f"datasets/{repo}/{layout.split_glob(fashion_mnist.PIXELS, 'train')}.parquet"
    image_test = f"datasets/{repo}/{layout.split_glob(fashion_mnist.NAME, 'test')}.parquet"
    return f"""\
The files are plain Parquet: in the default config `image` is a struct of PNG `bytes` and
`path`; in `pixels` it is a fixed-size list of 784 uint8 (`reshape(28, 28)` gives the
image). Each block below runs as shown. The ones reading through `huggingface_hub`
(`hf://` paths, `HfFileSystem`) honour `HF_TOKEN` and `HF_ENDPOINT` as `datasets` does.

pandas (with `huggingface_hub` installed, `hf://` paths just work):

```python
import pandas as pd
df = pd.read_parquet("hf://datasets/{repo}/{test_shard}")  # the first {first_rows:,} test examples
```

polars and DuckDB: both have `hf://` paths of their own, but they reach only the public
Hub (no `HF_ENDPOINT`), and DuckDB downloads its `httpfs` extension on first use. Through
`huggingface_hub`'s file system and a `pyarrow` dataset they need neither:

```python
import polars as pl, pyarrow.dataset as pads
from huggingface_hub import HfFileSystem
fs = HfFileSystem()
train = pads.dataset(fs.glob("{pixels_train}"), filesystem=fs)
counts = pl.scan_pyarrow_dataset(train).group_by("label").len().collect()  # 6,000 per label
```

DuckDB queries an Arrow table in place; read the columns it needs into one first (a scan
of the dataset itself from DuckDB's threads sometimes aborts the interpreter at exit):

```python
import duckdb, pyarrow.dataset as pads
from huggingface_hub import HfFileSystem
fs = HfFileSystem()
test = pads.dataset(fs.glob("{image_test}"), filesystem=fs).to_table(columns=["label"])
counts = duckdb.sql("SELECT label, count(*) AS n FROM test GROUP BY label ORDER BY label").fetchall()
```

Dask (`pip install "dask[dataframe,distributed]" huggingface_hub`) reads `hf://` paths on
every worker:

```python
import dask.dataframe as dd
from dask.distributed import Client, LocalCluster
client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
train = dd.read_parquet("hf://{pixels_train}")
counts = train["label"].value_counts().compute()  # 6,000 per label
```

Spark (`pip install pyspark pyspark-huggingface`, Java 17 or later; `split` picks the
split, `train` by default, and `config` a config). Spark has no unsigned integers, so it
cannot read the `pixels` config (uint8); read the default one:

```python
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[2]").getOrCreate()
test = spark.read.format("huggingface").option("split", "test").load("{repo}")
counts = test.groupBy("label").count().collect()  # 1,000 per label
```"""


def _frameworks(facts: CardFacts) -> str:
    """Keras, JAX, Ray and TensorFlow: each recipe runs as shown (tests/recipes/test_recipes_run.py)."""
    repo, pixels = facts.repo_id, fashion_mnist.PIXELS
    pixels_train = f"datasets/{repo}/{layout.split_glob(pixels, 'train')}.parquet"
    return f"""\
**Keras** (`keras.datasets.fashion_mnist.load_data()`): the same tuple of arrays, uint8,
`(N, 28, 28)` images and `(N,)` labels, equal array for array to what Keras returns (the
test suite compares them):

```python
import numpy as np
from datasets import load_dataset

def load_data():  # ((x_train, y_train), (x_test, y_test)), as keras.datasets.fashion_mnist.load_data()
    splits = load_dataset("{repo}", "{pixels}").with_format("numpy", dtype=np.uint8)
    train, test = splits["train"][:], splits["test"][:]
    return (train["pixels"].reshape(-1, 28, 28), train["label"]), (test["pixels"].reshape(-1, 28, 28), test["label"])

(x_train, y_train), (x_test, y_test) = load_data()  # (60000, 28, 28), (60000,), (10000, 28, 28), (10000,)
```

Keras 3 trains on those arrays with any backend (torch, JAX or TensorFlow):

```python
import os
os.environ.setdefault("KERAS_BACKEND", "torch")  # or "jax", "tensorflow": set it before importing keras
import keras, numpy as np
from datasets import load_dataset

train = load_dataset("{repo}", "{pixels}", split="train").with_format("numpy", dtype=np.uint8)[:]
x_train, y_train = train["pixels"].reshape(-1, 28, 28), train["label"]
model = keras.Sequential([
    keras.Input((28, 28)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10),
])
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=256, epochs=1)
```

**TensorFlow**: the arrays above are what `tf.data.Dataset.from_tensor_slices((x_train, y_train))`
takes, and Keras on the TensorFlow backend trains on them as shown. TensorFlow itself
is not installed by the tests (1.4 GB), so no block here imports it.

**JAX**: put the uint8 pixels on the device as they are (47 MB for the train split) and
cast inside the jitted step. `with_format("jax")` widens integer columns to `int32`
(`int64` with `jax_enable_x64`), 4 times the memory; `with_format("jax", dtype=jnp.uint8)`
keeps them uint8. Shuffle with a permutation of indices and drop the last partial
batch, so every step has the same shape and compiles once:

```python
import jax, jax.numpy as jnp, numpy as np
from datasets import load_dataset

train = load_dataset("{repo}", "{pixels}", split="train").with_format("numpy", dtype=np.uint8)[:]
images = jax.device_put(train["pixels"].reshape(-1, 28, 28))  # uint8 on the device
labels = jax.device_put(train["label"])

def loss_fn(params, x, y):
    weights, bias = params
    logits = x.reshape(len(x), -1).astype(jnp.float32) / 255 @ weights + bias
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None].astype(jnp.int32), axis=1))

@jax.jit
def train_step(params, images, labels, indices):  # the arrays as arguments: captured ones would be compiled in
    loss, grads = jax.value_and_grad(loss_fn)(params, images[indices], labels[indices])
    return jax.tree.map(lambda p, g: p - 0.5 * g, params, grads), loss

params = (jnp.zeros((784, 10)), jnp.zeros(10))
key = jax.random.key(0)
for epoch in range(2):
    key, shuffle_key = jax.random.split(key)
    order = jax.random.permutation(shuffle_key, len(labels))
    for batch in order[: len(order) // 256 * 256].reshape(-1, 256):
        params, loss = train_step(params, images, labels, batch)
```

**Ray** (`pip install "ray[data]" aiohttp`): Ray Data reads the Parquet files through
`huggingface_hub`'s file system, and `streaming_split(2)` feeds two workers, each its
own half of every epoch, as `iter_torch_batches` of uint8 tensors (Ray Train's
`get_dataset_shard` hands its `TorchTrainer` workers the same split). Ray Data needs
`aiohttp` installed to read from any `fsspec` file system (`ray` 2.60). On a small
machine give Ray more logical CPUs than cores (`num_cpus`): each worker holds one, and
Ray Data's readers wait for a free one. For the default config, decode the PNG bytes in
a `map_batches` function first, as in the `DataLoader` recipe above.

```python
import numpy as np, ray, torch
from huggingface_hub import HfFileSystem

@ray.remote
def train_worker(shard):  # a training worker, given its own part of the epoch
    seen = np.zeros(10, dtype=np.int64)
    for batch in shard.iter_torch_batches(batch_size=256, dtypes={{"pixels": torch.uint8, "label": torch.int64}}):
        x, y = batch["pixels"].view(-1, 1, 28, 28).float() / 255, batch["label"]  # (256, 1, 28, 28), (256,)
        seen += np.bincount(y.numpy(), minlength=10)
    return seen

ray.init(num_cpus=4)
fs = HfFileSystem()
train = ray.data.read_parquet(fs.glob("{pixels_train}"), filesystem=fs)
shards = train.streaming_split(2, equal=True)
per_worker = ray.get([train_worker.remote(shard) for shard in shards])  # 30,000 examples each
counts = list(enumerate(np.sum(per_worker, axis=0).tolist()))  # 6,000 per label: each example once
```"""


def _sources(facts: CardFacts) -> str:
    lines = [
        "| file | .gz bytes | .gz MD5 | .gz SHA-256 | decompressed SHA-256 |",
        "|---|---:|---|---|---|",
    ]
    for archive in fashion_mnist.ARCHIVES:
        lines.append(
            f"| `{archive.filename}` | {archive.gz_num_bytes:,} | `{archive.gz_md5}` | "
            f"`{archive.gz_sha256}` | `{archive.raw_sha256}` |"
        )
    mirrors = "\n".join(f"- <{base}>" for base in fashion_mnist.MIRRORS)
    return "\n".join(lines) + f"\n\nMirrors the builder tries, in order:\n\n{mirrors}"


def _citation(facts: CardFacts) -> str:
    return f"```bibtex\n{fashion_mnist.CITATION.strip()}\n```"


BLOCKS = {
    "summary": _summary,
    "labels": _labels,
    "splits": _splits,
    "fields": _fields,
    "usage": _usage,
    "tools": _tools,
    "frameworks": _frameworks,
    "sources": _sources,
    "citation": _citation,
}
