import dask.dataframe as dd
from dask.distributed import Client, LocalCluster

client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
train = dd.read_parquet("hf://datasets/org/fashion_mnist/data/pixels/train-*.parquet")
counts = train["label"].value_counts().compute()  # 6,000 per label
