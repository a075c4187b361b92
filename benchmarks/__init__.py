"""The benchmark: this copy against what it has to beat, for the card's Performance and Benchmarks sections.

`python -m benchmarks` measures each section of `run.SECTIONS`, a module each; `python -m benchmarks.baselines` trains
the paper's scikit-learn baselines. `tests/benchmarks/` runs each section on tiny synthetic archives, timing nothing.
"""
