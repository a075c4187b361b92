import polars as pl
import pyarrow.dataset as pads
from huggingface_hub import HfFileSystem

fs = HfFileSystem()
train = pads.dataset(fs.glob("datasets/org/fashion_mnist/data/pixels/train-*.parquet"), filesystem=fs)
counts = pl.scan_pyarrow_dataset(train).group_by("label").len().collect()  # 6,000 per label
