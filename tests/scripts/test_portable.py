"""scripts/portable.py: features in the spelling every datasets version reads, read back the same by this one."""

from __future__ import annotations

import json

import datasets
import pyarrow as pa
import pytest

import fashion_mnist
from scripts import portable


@pytest.mark.parametrize("config", list(fashion_mnist.FEATURES))
def test_every_spelling_reads_back_as_the_builders_features(config: str) -> None:
    features = fashion_mnist.FEATURES[config]
    assert datasets.Features.from_dict(portable.features_dict(features)) == features
    schema = portable.arrow_schema(features)
    assert schema.remove_metadata() == features.arrow_schema.remove_metadata()
    assert datasets.Features.from_arrow_schema(schema) == features


def test_a_list_of_values_is_spelled_sequence_everywhere() -> None:
    features = fashion_mnist.FEATURES[fashion_mnist.PIXELS]
    assert portable.features_dict(features)["pixels"]["_type"] == "Sequence"
    metadata = json.loads(portable.arrow_schema(features).metadata[b"huggingface"])
    assert metadata["info"]["features"]["pixels"] == {
        "_type": "Sequence",
        "feature": {"_type": "Value", "dtype": "uint8"},
        "length": 784,
    }
    assert "List" not in json.dumps(portable.features_dict(features))


def test_a_list_of_dicts_is_refused_not_silently_changed() -> None:
    """Old `Sequence({...})` means a dict of lists: no faithful old spelling exists for a list of dicts."""
    features = datasets.Features({"boxes": datasets.List({"x": datasets.Value("int32")})})
    with pytest.raises(ValueError, match="list of dicts"):
        portable.features_dict(features)
    assert pa.types.is_list(features.arrow_schema.field("boxes").type)
