"""`python -m benchmarks`: the benchmark's command line (`benchmarks/run.py`).

The faults section streams `org/fashion_mnist` from a Hub on 127.0.0.1: a scratch HF_HOME, set here before `datasets`
and `huggingface_hub` read it on import, keeps what they cache of it out of the user's Hugging Face cache.
"""

import atexit
import os
import shutil
import sys
import tempfile

SCRATCH_HF_HOME = tempfile.mkdtemp(prefix="fashion-mnist-benchmark-hf-")
os.environ["HF_HOME"] = SCRATCH_HF_HOME
atexit.register(shutil.rmtree, SCRATCH_HF_HOME, ignore_errors=True)

from benchmarks.run import main

sys.exit(main())
