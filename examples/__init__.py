"""Complete jobs a user copies and runs (`python examples/NAME.py`); the tests and the benchmark import them as
`examples.NAME`, so they run the file the user runs."""
