"The tutorial API, on tiny images written to tmp_path."

import os

import numpy as np
import pytest
import torch
from PIL import Image

from lib import accuracy, l1_norm, load_tensors, mean_image
from lib.digits import install_archive


def write_digits(folder, pixels, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(pixels):
        Image.fromarray(np.asarray(a, dtype=np.uint8), mode="L").save(folder / (names or {}).get(i, f"{i}.png"))
    return folder


def test_load_tensors_stacks_scaled_floats(tmp_path):
    folder = write_digits(tmp_path / "d", [np.full((4, 3), 0), np.full((4, 3), 255)])
    x = load_tensors(folder)
    assert x.dtype == torch.float32 and x.shape == (2, 4, 3)
    assert x[0].max() == 0 and x[1].min() == 1


def test_load_tensors_matches_the_post_by_hand_way(tmp_path):
    rng = np.random.default_rng(0)
    folder = write_digits(tmp_path / "d", rng.integers(0, 256, (5, 28, 28)))
    by_hand = torch.stack([torch.tensor(np.array(Image.open(p))) for p in sorted(folder.iterdir())]).float() / 255
    assert torch.equal(load_tensors(folder), by_hand)


def test_files_are_sorted_by_name_as_fastai_sorts(tmp_path):
    # '10.png' < '9.png' as strings: the order of fastai's `.ls().sorted()`.
    folder = write_digits(tmp_path / "d", [np.full((2, 2), 9), np.full((2, 2), 10)], {0: "9.png", 1: "10.png"})
    assert (load_tensors(folder)[:, 0, 0] * 255).tolist() == [10, 9]


def test_second_load_comes_from_the_cache(tmp_path):
    folder = write_digits(tmp_path / "d", [np.zeros((2, 2))])
    first = load_tensors(folder)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    assert torch.equal(load_tensors(folder), first)


@pytest.mark.parametrize("change", ["add", "remove", "rewrite"])
def test_cache_is_invalid_after_a_file_changes(tmp_path, change):
    folder = write_digits(tmp_path / "d", [np.zeros((2, 2)), np.zeros((2, 2))])
    load_tensors(folder)
    if change == "add":
        write_digits(folder, [np.full((2, 2), 255)], {0: "2.png"})
    elif change == "remove":
        (folder / "1.png").unlink()
    else:
        write_digits(folder, [np.full((2, 2), 255)], {0: "1.png"})
        os.utime(folder / "1.png", ns=(1, 1))  # an mtime in the past still counts as a change
    expected = torch.stack([torch.tensor(np.array(Image.open(p))) for p in sorted(folder.iterdir())]).float() / 255
    assert torch.equal(load_tensors(folder), expected)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope: no such folder"):
        load_tensors(tmp_path / "nope")


def test_empty_folder_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty: the folder holds no image files"):
        load_tensors(tmp_path / "empty")


def test_non_image_file_is_named(tmp_path):
    folder = write_digits(tmp_path / "d", [np.zeros((2, 2))])
    (folder / "notes.txt").write_text("not a digit")
    with pytest.raises(ValueError, match=r"notes\.txt: not an image file"):
        load_tensors(folder)


def test_image_of_another_size_is_named(tmp_path):
    folder = write_digits(tmp_path / "d", [np.zeros((28, 28)), np.zeros((28, 27))])
    with pytest.raises(ValueError, match=r"1\.png: image is 27x28, but .*0\.png is 28x28"):
        load_tensors(folder)


def test_rgb_image_is_rejected_not_converted(tmp_path):
    folder = write_digits(tmp_path / "d", [np.zeros((2, 2))])
    Image.new("RGB", (2, 2)).save(folder / "1.png")
    with pytest.raises(ValueError, match=r"1\.png: image is not 8-bit grayscale \(3 channel"):
        load_tensors(folder)


def test_grayscale_in_a_format_opencv_skips_is_read_by_pillow(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    Image.fromarray(np.full((3, 3), 51, np.uint8), mode="L").save(folder / "0.tga")
    assert torch.equal(load_tensors(folder), torch.full((1, 3, 3), 51.0) / 255)


def test_colour_image_pillow_reads_is_rejected(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    Image.new("RGB", (3, 3)).save(folder / "0.tga")
    with pytest.raises(ValueError, match=r"0\.tga: image is not 8-bit grayscale \(mode 'RGB'\)"):
        load_tensors(folder)


def test_mean_image_averages_the_first_axis():
    stack = torch.stack([torch.zeros(2, 2), torch.ones(2, 2)])
    assert torch.equal(mean_image(stack), torch.full((2, 2), 0.5))


def test_mean_image_needs_a_stack():
    with pytest.raises(ValueError, match=r"got shape \(2, 2\)"):
        mean_image(torch.zeros(2, 2))


def test_l1_norm_of_two_images_is_a_scalar():
    assert l1_norm(torch.zeros(28, 28), torch.full((28, 28), 0.25)).shape == ()
    assert l1_norm(torch.zeros(28, 28), torch.full((28, 28), 0.25)).item() == 0.25


def test_l1_norm_broadcasts_a_stack_against_one_image():
    stack = torch.stack([torch.zeros(28, 28), torch.ones(28, 28)])
    d = l1_norm(stack, torch.full((28, 28), 0.25))
    assert d.shape == (2,) and d.tolist() == [0.25, 0.75]


def test_l1_norm_rejects_images_of_different_sizes():
    with pytest.raises(ValueError, match=r"image sizes differ: \(28, 28\) vs \(27, 28\)"):
        l1_norm(torch.zeros(3, 28, 28), torch.zeros(27, 28))


def test_accuracy_counts_each_side_and_averages():
    mean_a, mean_b = torch.zeros(2, 2), torch.ones(2, 2)
    valid_a = torch.stack([torch.full((2, 2), 0.1), torch.full((2, 2), 0.9)])  # one right, one wrong
    valid_b = torch.stack([torch.full((2, 2), 0.8)] * 3)  # all right
    assert accuracy(valid_a, valid_b, mean_a, mean_b) == pytest.approx((0.5, 1.0, 0.75))


def test_accuracy_counts_a_tie_as_b():
    mean_a, mean_b = torch.zeros(2, 2), torch.ones(2, 2)
    tie = torch.full((1, 2, 2), 0.5)
    assert accuracy(tie, tie, mean_a, mean_b) == (0.0, 1.0, 0.5)


def test_install_archive_extracts_where_untar_data_looks(tmp_path):
    import tarfile

    src = write_digits(tmp_path / "src" / "mnist_sample" / "train" / "3", [np.zeros((2, 2))])
    archive = tmp_path / "mnist_sample.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src.parent.parent, arcname="mnist_sample")
    dest = install_archive(archive, tmp_path / "data")
    assert dest == tmp_path / "data" / "mnist_sample"
    assert (dest / "train" / "3" / "0.png").is_file()
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["mnist_sample"]  # no temporary left


def test_install_archive_names_a_missing_archive(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tgz: no such archive"):
        install_archive(tmp_path / "nope.tgz", tmp_path / "data")


def test_the_three_ways_to_compute_accuracy_agree():
    from lib.speed import accuracy_broadcast, accuracy_image_loop, accuracy_python

    g = torch.Generator().manual_seed(0)
    threes, sevens = torch.rand(7, 4, 4, generator=g), torch.rand(5, 4, 4, generator=g)
    mean3, mean7 = torch.zeros(4, 4), torch.full((4, 4), 0.5)
    expected = accuracy(threes, sevens, mean3, mean7)[2]
    lists = [t.tolist() for t in (threes, sevens, mean3, mean7)]
    assert accuracy_python(*lists) == pytest.approx(expected)
    assert accuracy_image_loop(threes, sevens, mean3, mean7) == pytest.approx(expected)
    assert accuracy_broadcast(threes, sevens, mean3, mean7) == pytest.approx(expected)


def test_time_accuracy_times_each_way_in_milliseconds():
    from lib.speed import time_accuracy

    stack = torch.rand(3, 4, 4)
    timings = time_accuracy(stack, stack, torch.zeros(4, 4), torch.ones(4, 4))
    assert list(timings)[:3] == ["pure Python", "loop over images", "broadcasting (CPU)"]
    assert all(ms > 0 for ms in timings.values())


def test_nearest_mean_picks_the_closest_mean_per_image():
    from lib import nearest_mean

    means = torch.stack([torch.zeros(2, 2), torch.full((2, 2), 0.5), torch.ones(2, 2)])
    x = torch.stack([torch.full((2, 2), v) for v in (0.9, 0.1, 0.45, 0.7)])
    assert nearest_mean(x, means).tolist() == [2, 0, 1, 1]


def test_nearest_mean_l2_can_disagree_with_l1():
    from lib import nearest_mean

    means = torch.stack([torch.tensor([[0.0, 0.0]]), torch.tensor([[0.6, 0.6]])])
    x = torch.tensor([[[1.0, 0.0]]])  # L1: 0.5 vs 0.5 -> first; L2: 0.5 vs 0.36 -> second
    assert nearest_mean(x, means, "l1").tolist() == [0] and nearest_mean(x, means, "l2").tolist() == [1]


def test_nearest_mean_gives_the_same_answer_in_any_chunk_size():
    from lib import nearest_mean

    g = torch.Generator().manual_seed(1)
    x, means = torch.rand(37, 5, 5, generator=g), torch.rand(4, 5, 5, generator=g)
    assert torch.equal(nearest_mean(x, means, chunk_size=4), nearest_mean(x, means, chunk_size=1000))


def test_nearest_mean_of_one_image_is_a_scalar_index():
    from lib import nearest_mean

    assert nearest_mean(torch.ones(2, 2), torch.stack([torch.zeros(2, 2), torch.ones(2, 2)])).item() == 1


def test_nearest_mean_rejects_an_unknown_norm_and_mismatched_sizes():
    from lib import nearest_mean

    with pytest.raises(ValueError, match="norm must be 'l1' or 'l2', not 'cosine'"):
        nearest_mean(torch.zeros(1, 2, 2), torch.zeros(3, 2, 2), norm="cosine")
    with pytest.raises(ValueError, match=r"images \(1, 2, 2\) and means \(3, 3, 3\)"):
        nearest_mean(torch.zeros(1, 2, 2), torch.zeros(3, 3, 3))
