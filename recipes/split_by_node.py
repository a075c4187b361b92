import os

from datasets import load_dataset
from datasets.distributed import split_dataset_by_node

rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
stream = load_dataset("org/fashion_mnist", "pixels", split="train", streaming=True)
stream = split_dataset_by_node(stream, rank=rank, world_size=world_size)  # then shuffle and batch as above
