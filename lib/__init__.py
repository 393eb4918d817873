"Tutorial helpers for the broadcasting post, and the site builder (`lib.blog`)."

from lib.baseline import accuracy, l1_norm, mean_image
from lib.digits import load_tensors, mnist_sample

__all__ = ["load_tensors", "mnist_sample", "mean_image", "l1_norm", "accuracy"]
