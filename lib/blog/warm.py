"""Imported by the forkserver of a cold build (build.warm_workers), which can preload modules but run nothing
else: importing this one warms the process that the build's workers fork from."""

import gc

from lib.blog import build  # noqa: F401  (what the workers run: start_worker, render_in_worker)
from lib.blog.notebook import warm

warm()
# What the workers inherit stays out of their garbage collections, which would otherwise walk all of it.
gc.freeze()
