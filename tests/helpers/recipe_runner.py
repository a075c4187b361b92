"""Run one recipe file as a reader would, then print a JSON summary of what it made.

    python recipe_runner.py RECIPE.py

The recipe runs as the main module's code. Afterwards each value it bound is summarised
cheaply: lengths, shapes, a first batch of a `DataLoader`, the rows of a query result or a
Spark `collect()`, so the test can check them.
"""

from __future__ import annotations

import json
import pathlib
import sys
import types


def summarise(value: object) -> dict | None:
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    summary: dict = {"type": kind}
    if isinstance(value, (types.ModuleType, types.FunctionType, type)):
        return None
    if kind.startswith("torch.utils.data.dataloader"):
        batch = next(iter(value))
        items = batch.items() if isinstance(batch, dict) else enumerate(batch)  # a dict, or a collate_fn's tuple
        summary["first_batch"] = {str(key): list(tensor.shape) for key, tensor in items}
        return summary
    if kind.startswith("polars") and "LazyFrame" in kind:
        value = value.collect()
    if kind.startswith("dask"):
        if "DataFrame" in kind:
            summary["length"] = int(value.shape[0].compute())
        return summary
    if isinstance(getattr(value, "shape", None), (tuple, list)) or kind.startswith(("numpy", "pandas")):
        summary["shape"] = [int(n) for n in value.shape]
    if isinstance(value, dict) or kind.startswith("datasets.dataset_dict"):
        summary["lengths"] = {str(key): _length(item) for key, item in value.items()}
    elif kind.startswith("datasets.arrow_dataset"):
        summary["length"] = len(value)
    if kind.startswith("pandas") and "Series" in kind:
        summary["counts"] = {str(k): _int(v) for k, v in value.items()} if len(value) <= 10 else None
    if kind.startswith("polars") and "DataFrame" in kind and value.width == 2 and "label" in value.columns:
        summary["counts"] = {str(row[0]): int(row[1]) for row in value.iter_rows()}
    if isinstance(value, list) and value and all(isinstance(row, tuple) or hasattr(row, "asDict") for row in value):
        summary["counts"] = {str(row[0]): int(row[1]) for row in value}
    return summary


def _int(value: object) -> int:
    return int(value.as_py() if hasattr(value, "as_py") else value)  # pandas may hold pyarrow scalars


def _length(item: object) -> int | None:
    try:
        return len(item)
    except TypeError:
        return None


def main() -> int:
    code = pathlib.Path(sys.argv[1]).read_text(encoding="utf-8")
    namespace = {"__name__": "__main__"}
    exec(compile(code, sys.argv[1], "exec"), namespace)
    summaries = {}
    for name, value in namespace.items():
        if name.startswith("_"):
            continue
        summary = summarise(value)
        if summary is not None:
            summaries[name] = summary
    print("SNIPPET-SUMMARY " + json.dumps(summaries, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
