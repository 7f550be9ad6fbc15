"""photosearch: find similar photos in your own library, on your own machine."""

import os as _os

# numpy's BLAS starts a thread per core for every matrix product. Ours are small (a
# query re-scoring a hundred candidates) and run while decoding threads and the model
# already use every core; there, a second BLAS thread makes a 3 ms product take 80 ms
# (measured). One thread each; set before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
