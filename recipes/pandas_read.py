import pandas as pd

df = pd.read_parquet("hf://datasets/org/fashion_mnist/data/test-00000-of-00016.parquet")  # the first 625 test examples
