"""Tutorial helpers for the broadcasting post, and the site builder (`lib.blog`).

`from lib import load_tensors` works as usual. The helpers are imported on first
use (PEP 562), so that `lib.blog`, which needs no torch, starts in a fraction of a second.
"""

from importlib import import_module

__all__ = ["load_tensors", "mnist_sample", "mnist_full", "mean_image", "l1_norm", "accuracy", "nearest_mean"]
_HOME = {
    "load_tensors": "lib.digits",
    "mnist_sample": "lib.digits",
    "mnist_full": "lib.digits",
    "nearest_mean": "lib.baseline",
    "mean_image": "lib.baseline",
    "l1_norm": "lib.baseline",
    "accuracy": "lib.baseline",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'lib' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
