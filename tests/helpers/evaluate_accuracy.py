"""An `evaluate` module computing accuracy, written here: a stand-in for the Hub's `evaluate-metric/accuracy`.

`evaluate.load("accuracy")` fetches that module's code from the Hub, which no test can reach.
It looks first for `./accuracy/accuracy.py` in the working directory, so the transformers
test copies this file there and the user's line runs unchanged through evaluate's own loading
(import into its modules cache, the `Metric` class, `compute`). A reader without the Hub does
the same with the real module, fetched once: `hf download evaluate-metric/accuracy --repo-type
space --local-dir accuracy`. Like the real one it computes with scikit-learn.
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score


class Accuracy(evaluate.Metric):
    """The fraction of predictions equal to their references."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="The fraction of predictions equal to their references.",
            citation="",
            inputs_description="predictions and references: lists of class indices",
            features=datasets.Features({"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}),
        )

    def _compute(self, predictions: list[int], references: list[int]) -> dict[str, float]:
        return {"accuracy": float(accuracy_score(references, predictions))}
