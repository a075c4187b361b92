"""Reproduce the Fashion-MNIST paper's scikit-learn baselines on the copy as loaded from the Hub.

    python -m benchmarks.baselines [--repo REPO] [--classifiers NAME ...] [--repeat N] [--update-card [README]]

The paper (Xiao, Rasul, Vollgraf, arXiv:1708.07747v2, Table 3 "Benchmark on Fashion-MNIST
(Fashion) and MNIST") trains scikit-learn classifiers on the 60,000 training images and
reports the test accuracy, averaged over 5 runs that shuffle the training data. Its code
(`benchmark/runner.py` in zalandoresearch/fashion-mnist) standardises every pixel with a
`StandardScaler` fitted on the training set, and so does this script. Each classifier
here is one row of that table, with the row's parameters spelled for today's
scikit-learn (the paper ran 0.19, whose `LogisticRegression` defaulted to liblinear and
one-vs-rest).

The data comes through `datasets.load_dataset(repo, "pixels")`, which honours
HF_ENDPOINT (a local Hub) and accepts a local folder, so a smoke test runs it on a tiny
synthetic copy. A few minutes on 2 cores for the default classifiers; not part of the
test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import datasets
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils import shuffle

import fashion_mnist
from benchmarks import report
from scripts import card, layout

PAPER = "arXiv:1708.07747v2, Table 3"
BLOCK = "benchmarks"  # the card's
REPORT_BLOCK = "baselines"  # benchmarks/RESULTS.md's
REPORT_PATH = "benchmarks/RESULTS.md"  # as the card links it, below the Hub repo's source/
JOBS = 2  # the machines this runs on have 2 cores

PROG = "python -m benchmarks.baselines"


@dataclasses.dataclass(frozen=True)
class Baseline:
    """One row of the paper's Table 3: the classifier, its parameters as printed there, the published accuracy."""

    name: str
    parameters: str  # as the paper prints them
    published: float  # test accuracy on Fashion-MNIST in Table 3
    make: Callable[[int], ClassifierMixin]  # seed -> a fresh, unfitted classifier


BASELINES = {
    # The table's second row (its first, penalty=l1, gives 0.842): the same convex objective, one-vs-rest, solved
    # by L-BFGS, which uses both cores through BLAS; the paper's liblinear takes several times as long here.
    "logistic_regression": Baseline(
        "LogisticRegression",
        "C=1 multi_class=ovr penalty=l2",
        0.841,
        lambda seed: OneVsRestClassifier(LogisticRegression(C=1.0, solver="lbfgs", max_iter=1000)),
    ),
    # The defaults of 0.19 and today agree: adam, batch 200, up to 200 epochs, tol 1e-4.
    "mlp": Baseline(
        "MLPClassifier",
        "activation=relu hidden_layer_sizes=[100]",
        0.871,
        lambda seed: MLPClassifier(hidden_layer_sizes=(100,), activation="relu", random_state=seed),
    ),
    # p=2 (Euclidean) rather than the table's best row, p=1 (0.854): BLAS finds the neighbours, minutes faster.
    "knn": Baseline(
        "KNeighborsClassifier",
        "weights=distance n_neighbors=5 p=2",
        0.852,
        lambda seed: KNeighborsClassifier(n_neighbors=5, weights="distance", p=2, n_jobs=JOBS),
    ),
    "random_forest": Baseline(
        "RandomForestClassifier",
        "n_estimators=100 criterion=entropy max_depth=100",
        0.873,
        lambda seed: RandomForestClassifier(
            n_estimators=100, criterion="entropy", max_depth=100, random_state=seed, n_jobs=JOBS
        ),
    ),
}
DEFAULT_CLASSIFIERS = ("logistic_regression", "mlp", "knn")  # random_forest adds a few minutes


@dataclasses.dataclass(frozen=True)
class Result:
    key: str
    accuracies: list[float]  # one per run, each on a differently shuffled training set
    seconds: float  # fit and score, median over the runs

    @property
    def accuracy(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def baseline(self) -> Baseline:
        return BASELINES[self.key]


def load_split_arrays(repo: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (pixels (N, 784) uint8, labels (N,)), from the `pixels` config of `repo` (a Hub id or a folder)."""
    splits = datasets.load_dataset(repo, fashion_mnist.PIXELS)
    arrays = {}
    for name in fashion_mnist.SPLITS:
        columns = splits[name].with_format("numpy", dtype=np.uint8)[:]
        arrays[name] = columns["pixels"], columns["label"].astype(np.int64)
    return arrays


def standardised(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The paper's preprocessing: each pixel scaled to zero mean and unit variance over the training set."""
    scaler = StandardScaler().fit(train.astype(np.float64))
    return scaler.transform(train.astype(np.float64)), scaler.transform(test.astype(np.float64))


def run_baseline(key: str, arrays: dict[str, tuple[np.ndarray, np.ndarray]], repeat: int) -> Result:
    """Fit on a shuffled training set and score on the test set, `repeat` times with other shuffles."""
    (x_train, y_train), (x_test, y_test) = arrays["train"], arrays["test"]
    x_train, x_test = standardised(x_train, x_test)
    accuracies, seconds = [], []
    for seed in range(repeat):
        xs, ys = shuffle(x_train, y_train, random_state=seed)
        start = time.perf_counter()
        classifier = BASELINES[key].make(seed).fit(xs, ys)
        accuracies.append(float(classifier.score(x_test, y_test)))
        seconds.append(time.perf_counter() - start)
    return Result(key, accuracies, statistics.median(seconds))


def card_table(results: Sequence[Result]) -> str:
    """The card's block: each classifier's accuracy in the paper and on this copy; the rest is the report's."""
    lines = [
        f"Test accuracy of the paper's scikit-learn baselines ({PAPER}), trained on this copy (parameters, "
        f"runs and times: [`source/benchmarks/RESULTS.md`](source/{REPORT_PATH})):",
        "",
        "| classifier | paper | this copy |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{r.baseline.name}` | {r.baseline.published:.3f} | {r.accuracy:.3f} |" for r in results]
    return "\n".join(lines)


def markdown(results: Sequence[Result], command: str) -> str:
    """The report's block: the paper's figure beside this copy's, the parameters, and how to get it again."""
    lines = [
        f"Test accuracy of the paper's scikit-learn baselines ({PAPER}: the mean of 5 runs on shuffled "
        "training data, pixels standardised), and the same classifiers trained on this copy:",
        "",
        "| classifier | parameters (as in the paper) | paper | this copy | difference | runs | seconds per run |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        baseline = result.baseline
        lines.append(
            f"| `{baseline.name}` | `{baseline.parameters}` | {baseline.published:.3f} | {result.accuracy:.3f} | "
            f"{100 * (result.accuracy - baseline.published):+.1f} points | {len(result.accuracies)} | "
            f"{result.seconds:.0f} |"
        )
    lines += ["", f"Reproduce with `{command}` (scikit-learn {_version('scikit-learn')}, 2 cores)."]
    return "\n".join(lines)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repo", default=layout.REPO_ID, help=f"Hub dataset id or local folder (default {layout.REPO_ID}; HF_ENDPOINT)"
    )
    parser.add_argument(
        "--classifiers",
        nargs="+",
        choices=list(BASELINES),
        default=list(DEFAULT_CLASSIFIERS),
        help=f"which rows of the paper's table to train (default: {' '.join(DEFAULT_CLASSIFIERS)})",
    )
    parser.add_argument(
        "--repeat", type=report.positive_int, default=1, help="runs on reshuffled data, averaged (paper: 5)"
    )
    report.add_update_card_argument(parser, BLOCK, also=", and the full table into the report (--report)")
    return parser.parse_args(argv)


def command_line(args: argparse.Namespace) -> str:
    """The command as the card shows it: the options that change the figures, no local paths."""
    parts = [PROG]
    if list(args.classifiers) != list(DEFAULT_CLASSIFIERS):
        parts.append("--classifiers " + " ".join(args.classifiers))
    if args.repeat != 1:
        parts.append(f"--repeat {args.repeat}")
    return " ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    datasets.disable_progress_bars()
    arrays = load_split_arrays(args.repo)
    results = []
    for key in args.classifiers:
        result = run_baseline(key, arrays, args.repeat)
        print(
            f"{result.baseline.name} ({result.baseline.parameters}): {result.accuracy:.4f} "
            f"(paper {result.baseline.published:.3f}), {result.seconds:.1f} s per run",
            flush=True,
        )
        results.append(result)
    section = markdown(results, command_line(args))
    print(section)
    if args.update_card:
        card.write_block(args.update_card, BLOCK, card_table(results))
        card.write_block(args.report, REPORT_BLOCK, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
