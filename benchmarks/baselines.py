"""Reproduce the Fashion-MNIST paper's scikit-learn baselines on the copy as loaded from the Hub.

Each classifier is a row of the paper's Table 3 (arXiv:1708.07747v2), pixels standardised as the paper's code does; the
data comes through `load_dataset(repo, "pixels")` (a local Hub or a folder serves too). A few minutes on 2 cores.
"""

import argparse
import dataclasses
import importlib.metadata
import statistics
import sys
import time
from collections.abc import Sequence

import datasets
import numpy as np
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
    name: str
    parameters: str  # as the paper prints them
    published: float  # test accuracy on Fashion-MNIST in Table 3


BASELINES = {  # the rows of the paper's Table 3 trained here
    "logistic_regression": Baseline("LogisticRegression", "C=1 multi_class=ovr penalty=l2", 0.841),
    "mlp": Baseline("MLPClassifier", "activation=relu hidden_layer_sizes=[100]", 0.871),
    "knn": Baseline("KNeighborsClassifier", "weights=distance n_neighbors=5 p=2", 0.852),
    "random_forest": Baseline("RandomForestClassifier", "n_estimators=100 criterion=entropy max_depth=100", 0.873),
}
CLASSIFIERS = {  # seed -> a fresh, unfitted classifier with the row's parameters, spelled for today's scikit-learn
    # The table's second row (its first, penalty=l1, gives 0.842). The paper's scikit-learn 0.19 ran liblinear; L-BFGS,
    # the same objective one-vs-rest, uses both cores through BLAS and takes a fraction of the time.
    "logistic_regression": lambda seed: OneVsRestClassifier(LogisticRegression(C=1.0, solver="lbfgs", max_iter=1000)),
    # The defaults of 0.19 and today agree: adam, batch 200, up to 200 epochs, tol 1e-4.
    "mlp": lambda seed: MLPClassifier(hidden_layer_sizes=(100,), activation="relu", random_state=seed),
    # p=2 (Euclidean) rather than the table's best row, p=1 (0.854): BLAS finds the neighbours, minutes faster.
    "knn": lambda seed: KNeighborsClassifier(n_neighbors=5, weights="distance", p=2, n_jobs=JOBS),
    "random_forest": lambda seed: RandomForestClassifier(
        n_estimators=100, criterion="entropy", max_depth=100, random_state=seed, n_jobs=JOBS
    ),
}
DEFAULT_CLASSIFIERS = ("logistic_regression", "mlp", "knn")  # random_forest adds a few minutes


@dataclasses.dataclass(frozen=True)
class Result:
    baseline: Baseline
    accuracy: float  # the mean over the runs, each on a differently shuffled training set
    runs: int
    seconds: float  # fit and score, median over the runs


def load_split_arrays(repo: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (pixels (N, 784) uint8, labels (N,)), from the `pixels` config of `repo` (a Hub id or a folder)."""
    splits = datasets.load_dataset(repo, fashion_mnist.PIXELS)
    columns = {name: splits[name].with_format("numpy", dtype=np.uint8)[:] for name in fashion_mnist.SPLITS}
    return {name: (split["pixels"], split["label"].astype(np.int64)) for name, split in columns.items()}


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
        classifier = CLASSIFIERS[key](seed).fit(xs, ys)
        accuracies.append(float(classifier.score(x_test, y_test)))
        seconds.append(time.perf_counter() - start)
    result = Result(BASELINES[key], statistics.fmean(accuracies), repeat, statistics.median(seconds))
    row = f"{result.baseline.name} ({result.baseline.parameters}): {result.accuracy:.4f}"
    print(f"{row} (paper {result.baseline.published:.3f}), {result.seconds:.1f} s per run", flush=True)
    return result


def blocks(results: Sequence[Result], command: str) -> tuple[str, str]:
    """The card's block (the accuracies) and the report's (with parameters, runs, times and how to get them again)."""
    card_caption = (
        f"Test accuracy of the paper's scikit-learn baselines ({PAPER}), trained on this copy (parameters, "
        f"runs and times: [`source/benchmarks/RESULTS.md`](source/{REPORT_PATH})):"
    )
    rows = [report.row(f"`{r.baseline.name}`", f"{r.baseline.published:.3f}", f"{r.accuracy:.3f}") for r in results]
    lines = [
        f"Test accuracy of the paper's scikit-learn baselines ({PAPER}: the mean of 5 runs on shuffled "
        "training data, pixels standardised), and the same classifiers trained on this copy:",
        "",
        "| classifier | parameters (as in the paper) | paper | this copy | difference | runs | seconds per run |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{r.baseline.name}` | `{r.baseline.parameters}` | {r.baseline.published:.3f} | {r.accuracy:.3f} | "
        f"{100 * (r.accuracy - r.baseline.published):+.1f} points | {r.runs} | {r.seconds:.0f} |"
        for r in results
    ]
    lines += ["", f"Reproduce with `{command}` (scikit-learn {importlib.metadata.version('scikit-learn')}, 2 cores)."]
    return report.table(("classifier", "paper", "this copy"), "lrr", rows, card_caption), "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    help_repo = f"Hub dataset id or local folder (default {layout.REPO_ID}; HF_ENDPOINT)"
    parser.add_argument("--repo", default=layout.REPO_ID, help=help_repo)
    defaults = list(DEFAULT_CLASSIFIERS)
    help_classifiers = f"which rows of the paper's table to train (default: {' '.join(defaults)})"
    parser.add_argument("--classifiers", nargs="+", choices=list(BASELINES), default=defaults, help=help_classifiers)
    help_repeat = "runs on reshuffled data, averaged (paper: 5)"
    parser.add_argument("--repeat", type=report.positive_int, default=1, help=help_repeat)
    report.add_update_card_argument(parser, BLOCK, also=", and the full table into the report (--report)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    datasets.disable_progress_bars()
    arrays = load_split_arrays(args.repo)
    results = [run_baseline(key, arrays, args.repeat) for key in args.classifiers]
    # The command as the card shows it: the options that change the figures, no local paths.
    options = [] if list(args.classifiers) == list(DEFAULT_CLASSIFIERS) else ["--classifiers", *args.classifiers]
    options += [f"--repeat {args.repeat}"] if args.repeat != 1 else []
    card_block, report_block = blocks(results, " ".join([PROG, *options]))
    print(report_block)
    if args.update_card:
        card.write_block(args.update_card, BLOCK, card_block)
        card.write_block(args.report, REPORT_BLOCK, report_block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
