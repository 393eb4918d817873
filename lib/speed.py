"""Three ways to compute the baseline's validation accuracy, to time against each other.

The broadcasting post shows this code and times it on the reader's machine; `make bench`
and `python -m lib.speed` print the same comparison. Each function returns the average
accuracy over the two validation sets, so the three can be checked to agree.
"""

from __future__ import annotations

import platform
import sys
import timeit

import torch

from lib.baseline import l1_norm

__all__ = ["accuracy_python", "accuracy_image_loop", "accuracy_broadcast", "time_accuracy"]


def l1_python(img: list[list[float]], mean: list[list[float]]) -> float:
    "L1 distance of two images stored as lists of lists of floats."
    total = sum(abs(p - m) for row_p, row_m in zip(img, mean, strict=True) for p, m in zip(row_p, row_m, strict=True))
    return total / (len(img) * len(img[0]))


def accuracy_python(threes: list, sevens: list, mean3: list, mean7: list) -> float:
    "Pure Python: pixels as nested lists, loops all the way down."

    def is_3(x):
        return l1_python(x, mean3) < l1_python(x, mean7)

    return (sum(map(is_3, threes)) / len(threes) + sum(not is_3(x) for x in sevens) / len(sevens)) / 2


def accuracy_image_loop(threes: torch.Tensor, sevens: torch.Tensor, mean3: torch.Tensor, mean7: torch.Tensor) -> float:
    "A Python loop over the images, with small tensor operations on each one."

    def is_3(x):
        return (l1_norm(x, mean3) < l1_norm(x, mean7)).item()

    return (sum(is_3(x) for x in threes) / len(threes) + sum(not is_3(x) for x in sevens) / len(sevens)) / 2


def accuracy_broadcast(threes: torch.Tensor, sevens: torch.Tensor, mean3: torch.Tensor, mean7: torch.Tensor) -> float:
    "Broadcasting: one call for each validation set, as in the post."

    def is_3(x):
        return l1_norm(x, mean3) < l1_norm(x, mean7)

    return ((is_3(threes).float().mean() + (1 - is_3(sevens).float()).mean()) / 2).item()


def best_ms(f, number: int) -> float:
    "Best of 3 repeats, in milliseconds per call: the least disturbed measurement."
    return min(timeit.repeat(f, number=number, repeat=3)) / number * 1000


def time_accuracy(threes: torch.Tensor, sevens: torch.Tensor, mean3: torch.Tensor, mean7: torch.Tensor) -> dict:
    "Milliseconds per accuracy computation for each way (and on the GPU, if there is one)."
    lists = [t.tolist() for t in (threes, sevens, mean3, mean7)]
    args = (threes, sevens, mean3, mean7)
    timings = {
        "pure Python": best_ms(lambda: accuracy_python(*lists), 1),
        "loop over images": best_ms(lambda: accuracy_image_loop(*args), 1),
        "broadcasting (CPU)": best_ms(lambda: accuracy_broadcast(*args), 20),
    }
    if torch.cuda.is_available():
        gpu = [t.cuda() for t in args]
        accuracy_broadcast(*gpu)  # the first call starts CUDA; not part of the timing
        timings["broadcasting (CUDA)"] = best_ms(lambda: accuracy_broadcast(*gpu), 100)
    return timings


def machine() -> str:
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{platform.machine()}, {torch.get_num_threads()} CPU threads{gpu}, torch {torch.__version__}"


def main(argv: list[str] | None = None) -> int:
    """`python -m lib.speed [FOLDER]`: the post's timing on this machine, on the MNIST sample.

    FOLDER is an extracted `mnist_sample`; without it, fastai's `untar_data` finds the sample.
    """
    from pathlib import Path

    from lib.baseline import mean_image
    from lib.digits import load_tensors, mnist_sample

    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else mnist_sample()
    mean3, mean7 = (mean_image(load_tensors(path / "train" / d)) for d in "37")
    threes, sevens = (load_tensors(path / "valid" / d) for d in "37")
    timings = time_accuracy(threes, sevens, mean3, mean7)
    print(f"Validation accuracy of the L1 baseline, {len(threes) + len(sevens):,} images; {machine()}")
    print(report(timings))
    return 0


def report(timings: dict) -> str:
    "One line per way: milliseconds, and how many times faster than pure Python."
    base = timings["pure Python"]

    def ratio(ms: float) -> str:
        return "(the baseline)" if ms == base else f"{base / ms:,.0f}x faster than pure Python"

    return "\n".join(f"  {name:>20}: {ms:10.3f} ms   {ratio(ms)}" for name, ms in timings.items())


if __name__ == "__main__":
    sys.exit(main())
