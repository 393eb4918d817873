"""Imported by the forkserver of a cold build (build.warm_workers), which can preload modules but run nothing
else: importing this one warms the process that the build's workers fork from."""

import gc

from lib.blog import build  # noqa: F401  (what the workers run: start_worker, render_in_worker)
from lib.blog.notebook import warm

try:
    warm()
except Exception:  # noqa: BLE001
    # A forkserver that raises here dies, and takes the build with it, with multiprocessing's traceback. Cold
    # workers do this work themselves, and any fault in it comes up there, as an error naming the notebook.
    pass
# What the workers inherit stays out of their garbage collections, which would otherwise walk all of it.
gc.freeze()
