"""Features written the way every `datasets` version reads them, from 2.x to 5.x.

datasets 4.0 renamed a fixed-length `Sequence` of values to `List`, and writes it as
`{"_type": "List"}`. datasets 2.x and 3.x know only `Sequence` and fail on the new
spelling; `dataset_infos.json` is read for every config at once, so one such feature
would break every config of the copy for them. datasets 4.x and 5.x still read the old
spelling. So wherever the copy stores features (`dataset_infos.json`, each shard's
schema metadata) it writes the old one; `datasets` reads both back as the same
`Features`.
"""

from __future__ import annotations

import json
from typing import Any

import datasets
import pyarrow as pa


def features_dict(features: datasets.Features) -> dict[str, Any]:
    """`features.to_dict()` with every list of values spelled `Sequence`."""
    return _sequence_spelling(features.to_dict())


def arrow_schema(features: datasets.Features) -> pa.Schema:
    """`features.arrow_schema`, with the features in its `huggingface` metadata in the old spelling."""
    metadata = {"huggingface": json.dumps({"info": {"features": features_dict(features)}})}
    return features.arrow_schema.with_metadata(metadata)


def _sequence_spelling(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {key: _sequence_spelling(item) for key, item in value.items()}
        if converted.get("_type") == "List" and isinstance(converted.get("feature"), dict):
            if "_type" not in converted["feature"]:
                raise ValueError(f"a list of dicts has no portable spelling (Sequence means a dict of lists): {value}")
            converted["_type"] = "Sequence"
        return converted
    if isinstance(value, list):
        return [_sequence_spelling(item) for item in value]
    return value
