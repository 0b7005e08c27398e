"""Centralita: an AI virtual receptionist with an omnichannel contact center behind it."""

import os

# NLU works on one utterance at a time: small matrices, where OpenBLAS's thread pool costs 3-8x
# the latency on a busy two-core machine. Set before numpy is first imported; an operator's
# own value wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
