"The pixel-similarity baseline of the broadcasting post: mean digits and L1 distance."

from __future__ import annotations

import torch

__all__ = ["mean_image", "l1_norm", "accuracy"]


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
