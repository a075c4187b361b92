import duckdb
import pyarrow.dataset as pads
from huggingface_hub import HfFileSystem

fs = HfFileSystem()
files = fs.glob("datasets/org/fashion_mnist/data/test-*.parquet")
test = pads.dataset(files, filesystem=fs).to_table(columns=["label"])  # DuckDB queries this Arrow table by name
counts = duckdb.sql("SELECT label, count(*) AS n FROM test GROUP BY label ORDER BY label").fetchall()
