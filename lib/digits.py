"""Loading folders of digit images into tensors, and getting the MNIST sample.

`load_tensors` is the function the broadcasting post imports. It does what the
post's first version did by hand (open each PNG, make it a tensor, stack them,
scale to [0, 1]) with two differences a learner can see in the benchmark:

* files are decoded by OpenCV straight into one preallocated array, instead of
  through Pillow images and a list of tensors;
* the stacked result is cached on disk, keyed by every file's name, size and
  modification time, so a second load of an unchanged folder is a single read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = ["load_tensors", "cache_dir", "mnist_sample", "mnist_full", "install_archive", "DataMissingError"]

ARCHIVE_ENV = "MNIST_ARCHIVE"
FULL_ARCHIVE_ENV = "MNIST_FULL_ARCHIVE"
# Folders this process read images from: the notebook executor records them as the data
# a post depends on, so a changed image makes the post's stored outputs stale.
READ: set[str] = set()


class DataMissingError(RuntimeError):
    "The MNIST sample is neither on disk nor downloadable."


def cache_dir() -> Path:
    "Where stacked tensors are cached: `$LIB_CACHE`, else `~/.cache/lib-digits`."
    return Path(os.environ.get("LIB_CACHE", Path.home() / ".cache" / "lib-digits"))


def _image_files(folder: Path) -> list[tuple[str, int, int]]:
    "(name, size, mtime) of each file in `folder`, in the name order of fastai's `.ls().sorted()`."
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of images")
    # stat relative to an open folder: about 15% quicker than DirEntry.stat() on 14,000 files
    fd = os.open(folder, os.O_RDONLY)
    try:
        stats = [(name, os.stat(name, dir_fd=fd)) for name in sorted(os.listdir(folder))]
    finally:
        os.close(fd)
    files = [(name, st.st_size, st.st_mtime_ns) for name, st in stats if stat.S_ISREG(st.st_mode)]
    if not files:
        raise FileNotFoundError(f"{folder}: the folder holds no image files")
    return files


def _fingerprint(folder: Path, files: list[tuple[str, int, int]]) -> str:
    # Names, sizes and mtimes: any file added, removed or rewritten gives a new key.
    return hashlib.sha256(repr((str(folder.resolve()), files)).encode()).hexdigest()[:32]


def _not_gray(path: str, found: str) -> ValueError:
    return ValueError(
        f"{path}: image is not 8-bit grayscale ({found}); rejected rather than converted. "
        "Convert it first, e.g. Image.open(p).convert('L').save(p)"
    )


def _read_gray(path: str) -> np.ndarray:
    # OpenCV's libpng decoder is about 4x faster than Pillow on small files (see `make bench`).
    a = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if a is None:
        return _read_with_pillow(path)  # formats OpenCV does not decode (GIF, ...), or no image at all
    if a.ndim != 2 or a.dtype != np.uint8:
        channels = 1 if a.ndim == 2 else a.shape[2]
        raise _not_gray(path, f"{channels} channel(s) of {a.dtype}")
    return a


def _read_with_pillow(path: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im.load()
    except (UnidentifiedImageError, OSError):
        raise ValueError(f"{path}: not an image file") from None
    if im.mode != "L":
        raise _not_gray(path, f"mode {im.mode!r}")
    return np.asarray(im)


def _decode(folder: Path, files: list[tuple[str, int, int]]) -> np.ndarray:
    paths = [str(folder / name) for name, _, _ in files]
    first = _read_gray(paths[0])
    out = np.empty((len(paths), *first.shape), dtype=np.uint8)
    out[0] = first
    # A plain loop: decoding 28x28 PNGs is so quick that threads only add contention.
    for i, path in enumerate(paths[1:], 1):
        a = _read_gray(path)
        if a.shape != first.shape:
            raise ValueError(
                f"{path}: image is {a.shape[1]}x{a.shape[0]}, but {paths[0]} is "
                f"{first.shape[1]}x{first.shape[0]}; all images must be the same size"
            )
        out[i] = a
    return out


def _save_atomic(array: np.ndarray, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        np.save(f, array)
    os.replace(tmp, dest)


def load_tensors(folder: str | os.PathLike, cache: bool = True) -> torch.Tensor:
    """Load every image in `folder` into one float32 tensor of shape (N, H, W).

    Pixel values are scaled from 0..255 to 0..1, exactly as `tensor(img).float()/255`.
    Files are taken in name order, the order of fastai's `path.ls().sorted()`.

    The images must be 8-bit grayscale (Pillow mode 'L') and all the same size.
    RGB and other modes are rejected, not converted, so that colour data never
    passes silently as digits.

    With `cache=True` the stacked pixels are kept under `cache_dir()`. The cache
    entry belongs to the exact list of file names, sizes and modification times,
    so adding, removing or changing any file makes the next call read the images again.

    Raises FileNotFoundError for a missing or empty folder, and ValueError naming
    the file for a non-image, a non-grayscale image or an image of another size.
    """
    folder = Path(folder)
    files = _image_files(folder)
    READ.add(str(folder.resolve()))
    cached = cache_dir() / f"{_fingerprint(folder, files)}.npy" if cache else None
    if cached is not None and cached.exists():
        pixels = np.load(cached)
    else:
        pixels = _decode(folder, files)
        if cached is not None:
            _save_atomic(pixels, cached)
    return torch.from_numpy(pixels).float().div_(255)


def install_archive(archive: str | os.PathLike, data_dir: str | os.PathLike) -> Path:
    """Extract a fastai-layout archive (such as `mnist_sample.tgz`) into `data_dir`.

    fastai's `untar_data` returns an already extracted folder without downloading,
    so this is all an offline machine needs. Extraction goes to a temporary folder
    first and is renamed into place, so an interrupted run leaves nothing half-written.
    """
    archive, data_dir = Path(archive), Path(data_dir)
    if not archive.is_file():
        raise FileNotFoundError(f"{archive}: no such archive")
    name = archive.name.split(".")[0]
    dest = data_dir / name
    if dest.is_dir():
        return dest
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=data_dir, prefix=f".{name}-"))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        os.replace(tmp / name, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def mnist_sample() -> Path:
    """Path of fastai's MNIST sample (3s and 7s), as `untar_data(URLs.MNIST_SAMPLE)` gives it.

    If the environment variable MNIST_ARCHIVE names a local copy of `mnist_sample.tgz`,
    it is extracted into fastai's data folder first, and `untar_data` then finds it
    there without going online.
    """
    return _dataset("MNIST_SAMPLE", ARCHIVE_ENV, "mnist_sample.tgz")


def mnist_full() -> Path:
    """Path of the full MNIST set as PNGs (`training/0..9`, `testing/0..9`): `untar_data(URLs.MNIST)`.

    Offline, the environment variable MNIST_FULL_ARCHIVE names a local `mnist_png.tgz`.
    """
    return _dataset("MNIST", FULL_ARCHIVE_ENV, "mnist_png.tgz")


def _dataset(name: str, env: str, archive_name: str) -> Path:
    with warnings.catch_warnings():  # fastai 2.8 on torch 2.14 warns about torch.jit at import
        warnings.simplefilter("ignore", FutureWarning)
        from fastai.data.external import URLs, fastai_cfg, untar_data

    data_dir = fastai_cfg().path("data")
    if archive := os.environ.get(env):
        install_archive(archive, data_dir)
    try:
        path = untar_data(getattr(URLs, name))
    except Exception as e:
        msg = (
            f"URLs.{name} is not in {data_dir} and could not be downloaded ({type(e).__name__}).\n"
            f"Offline, point {env} at a copy of {archive_name}: `make data {env}=path/to/{archive_name}`."
        )
        raise DataMissingError(msg) from None
    READ.add(str(Path(path).resolve()))
    return path


def main() -> int:
    "Make sure the MNIST sample is on disk, and the full set too when MNIST_FULL_ARCHIVE names it."
    try:
        print(mnist_sample())
        print(mnist_full())
    except (DataMissingError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
