import numpy as np
import ray
import torch
from huggingface_hub import HfFileSystem


def read_train(files="datasets/org/fashion_mnist/data/pixels/train-*.parquet"):  # the split as a Ray dataset
    fs = HfFileSystem()
    return ray.data.read_parquet(fs.glob(files), filesystem=fs)


def batches(shard):  # a worker's part of the epoch: uint8 pixels (256, 784) and int64 labels (256,)
    return shard.iter_torch_batches(batch_size=256, dtypes={"pixels": torch.uint8, "label": torch.int64})


@ray.remote
def train_worker(shard):  # a training worker, given its own part of the epoch
    seen = np.zeros(10, dtype=np.int64)
    for batch in batches(shard):
        x, y = batch["pixels"].view(-1, 1, 28, 28).float() / 255, batch["label"]  # (256, 1, 28, 28), (256,)
        seen += np.bincount(y.numpy(), minlength=10)
    return seen


if __name__ == "__main__":
    ray.init(num_cpus=4)
    shards = read_train().streaming_split(2, equal=True)
    per_worker = ray.get([train_worker.remote(shard) for shard in shards])  # 30,000 examples each
    counts = list(enumerate(np.sum(per_worker, axis=0).tolist()))  # 6,000 per label: each example once
