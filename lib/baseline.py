"The pixel-similarity baseline of the broadcasting post: mean digits and L1 distance."

from __future__ import annotations

import torch

__all__ = ["mean_image", "l1_norm", "accuracy", "nearest_mean"]


def mean_image(stack: torch.Tensor) -> torch.Tensor:
    "The pixel-wise mean of a stack of images: (N, H, W) -> (H, W), the 'ideal' digit."
    if stack.ndim < 3 or stack.shape[0] == 0:
        raise ValueError(f"expected a non-empty stack of images (N, H, W), got shape {tuple(stack.shape)}")
    return stack.mean(0)


def l1_norm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between images, over the last two axes (height and width).

    Broadcasting does the rest: two (28, 28) images give a scalar, and a stack of
    shape (N, 28, 28) against one (28, 28) image gives N distances, shape (N,).
    """
    if a.shape[-2:] != b.shape[-2:]:
        raise ValueError(f"image sizes differ: {tuple(a.shape[-2:])} vs {tuple(b.shape[-2:])}")
    return (a - b).abs().mean((-1, -2))


def accuracy(
    valid_a: torch.Tensor, valid_b: torch.Tensor, mean_a: torch.Tensor, mean_b: torch.Tensor
) -> tuple[float, float, float]:
    """How well 'closer to the mean image' tells two digits apart.

    Returns the fraction of `valid_a` that is closer (L1) to `mean_a` than to
    `mean_b`, the same for `valid_b` and `mean_b`, and the average of the two.
    A tie counts as `b`, because the test is a strict `<`.
    """
    is_a = lambda x: l1_norm(x, mean_a) < l1_norm(x, mean_b)  # noqa: E731
    # Same float32 arithmetic as the post's first version, so printed digits agree.
    acc_a = is_a(valid_a).float().mean()
    acc_b = (1 - is_a(valid_b).float()).mean()
    return acc_a.item(), acc_b.item(), ((acc_a + acc_b) / 2).item()


def distances(x: torch.Tensor, means: torch.Tensor, norm: str = "l1") -> torch.Tensor:
    """Distance of every image to every mean, in one broadcast: (N, H, W) and (K, H, W) give (N, K).

    `x[:, None]` is (N, 1, H, W); against means (K, H, W) it broadcasts to (N, K, H, W),
    and the mean over the last two axes leaves (N, K). "l1" is the mean absolute
    difference, "l2" the mean squared difference.
    """
    diff = x[:, None] - means
    return (diff.abs() if norm == "l1" else diff.square()).mean((-1, -2))


def nearest_mean(x: torch.Tensor, means: torch.Tensor, norm: str = "l1", chunk_size: int = 1000) -> torch.Tensor:
    """Index of the closest mean image for each image in `x`: (N, H, W) against (K, H, W) gives (N,).

    The broadcast in `distances` builds an (N, K, H, W) tensor; for 10,000 test digits
    and 10 means that is 10000*10*28*28*4 bytes = 313 MB. Working through `x` in chunks
    of `chunk_size` images keeps memory bounded (31 MB per chunk of 1,000) at the same speed.
    """
    if norm not in ("l1", "l2"):
        raise ValueError(f"norm must be 'l1' or 'l2', not {norm!r}")
    if x.shape[-2:] != means.shape[-2:] or means.ndim != 3:
        raise ValueError(f"images {tuple(x.shape)} and means {tuple(means.shape)} must be (N, H, W) and (K, H, W)")
    if x.ndim == 2:
        return nearest_mean(x[None], means, norm, chunk_size)[0]
    return torch.cat([distances(chunk, means, norm).argmin(1) for chunk in x.split(chunk_size)])
