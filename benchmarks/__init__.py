"""The benchmark: this copy against what it has to beat, for the card's Performance and Benchmarks sections.

`python -m benchmarks` (`run.py`) measures every section listed in `run.SECTIONS`, one module
each; `python -m benchmarks.baselines` trains the paper's scikit-learn baselines. Neither is
part of the test suite (`tests/benchmarks/` runs each section on tiny synthetic archives).
"""
