"""Code a user copies: each file is one ```python block of the dataset card, as it appears there.

`scripts/card.py` includes each file verbatim between the card's GENERATED markers (the
repo id `org/fashion_mnist` replaced by the copy's own), `tests/recipes/` runs every file
against a local Hub, and the benchmark (`benchmarks/`) imports the functions of the files
it times. A file that the benchmark times keeps its steps in functions and its run under
`if __name__ == "__main__":`, so importing it runs nothing. A recipe imports nothing of
this project.
"""
