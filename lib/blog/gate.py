"""The gate: run each notebook afresh and compare, cell by cell, with the outputs it publishes.

Text is compared exactly, after normalizing memory addresses (`0x7f...`), so numbers must
match at the precision they were printed with. Images must have the same size and nearly
the same pixels: at most 0.5% of pixels may differ by more than 16 gray levels. That
tolerance absorbs anti-aliasing differences between FreeType and matplotlib builds, which
move a few edge pixels a little, and still catches a changed plot, which moves many a lot.

Inline values are compared exactly: the value written into a markdown cell's source, which is
what readers see (`inline`), with a fresh evaluation of its expression; a cell still in Quarto's
form is compared by the value stored in its metadata. A cell whose output cannot repeat (a
timing) opts out with `#| check: false` or the `no-check` tag; so does a markdown cell's inline value.
"""

from __future__ import annotations

import base64
import difflib
import io
import re
from pathlib import Path

from lib.blog.execute import blog_meta, declares, run_loaded, source
from lib.blog.inline import differs, quarto, written
from lib.blog.lint import Finding
from lib.blog.nbfile import load

ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
PIXEL_LEVELS, PIXEL_SHARE = 16, 0.005


def unchecked(cell: dict) -> bool:
    return declares(cell, "no-check", "check", "false")


def text_of(out: dict) -> str | None:
    "The text an output shows, or None for an image output."
    if out["output_type"] == "stream":
        text = out["text"]
    elif out["output_type"] == "error":
        text = f"{out['ename']}: {out['evalue']}"
    elif any(k.startswith("image/") for k in out.get("data", {})):
        return None
    else:
        text = out.get("data", {}).get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else text
    return ADDRESS.sub("0x…", text)


def image_of(out: dict) -> bytes | None:
    data = out.get("data", {}).get("image/png")
    return base64.b64decode("".join(data) if isinstance(data, list) else data) if data else None


def compare_images(stored: bytes | None, fresh: bytes | None) -> str | None:
    import numpy as np
    from PIL import Image

    if stored is None or fresh is None:  # an image that is not a PNG (an SVG, say) has no pixels to compare
        return None if stored == fresh else "a PNG image is now in another format, or the other way round"
    a, b = (np.asarray(Image.open(io.BytesIO(x)).convert("RGBA"), dtype=np.int16) for x in (stored, fresh))
    if a.shape != b.shape:
        return f"image size {a.shape[1]}x{a.shape[0]} is now {b.shape[1]}x{b.shape[0]}"
    share = (np.abs(a - b).max(axis=-1) > PIXEL_LEVELS).mean()
    return f"image differs in {share:.1%} of its pixels" if share > PIXEL_SHARE else None


def kind(out: dict) -> str:
    return f"{out['output_type']} ({out['name']})" if out["output_type"] == "stream" else out["output_type"]


def compare_outputs(stored: list[dict], fresh: list[dict]) -> list[str]:
    "Outputs are compared kind by kind (stdout, displays, result, error), in order within each kind."
    problems = []
    for k in sorted({kind(o) for o in stored + fresh}):
        old, new = [o for o in stored if kind(o) == k], [o for o in fresh if kind(o) == k]
        if len(old) != len(new):
            problems.append(f"{len(old)} stored {k} output(s), {len(new)} in a fresh run")
            continue
        problems += [p for a, b in zip(old, new, strict=True) if (p := compare_output(a, b))]
    return problems


def compare_output(old: dict, new: dict) -> str | None:
    old_text, new_text = text_of(old), text_of(new)
    if (old_text is None) != (new_text is None):
        return (
            f"a stored {'text' if old_text is not None else 'image'} output is now {'text' if new_text else 'an image'}"
        )
    if old_text is None:
        try:
            return compare_images(image_of(old), image_of(new))
        except (OSError, ValueError) as e:  # not base64, or not an image PIL can open
            return f"an image cannot be read: {type(e).__name__}: {e}"
    if old_text != new_text:
        diff = difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), lineterm="", n=0)
        return "output differs:\n" + "\n".join(list(diff)[3:11])
    return None


def compare(path: Path, stored: dict, fresh: dict) -> list[Finding]:
    found = []
    for number, (old, new) in enumerate(zip(stored["cells"], fresh["cells"], strict=True), 1):
        if unchecked(old):
            continue
        if old["cell_type"] == "code":
            found += [Finding(path, number, p) for p in compare_outputs(old.get("outputs", []), new["outputs"])]
        elif old["cell_type"] == "markdown":
            found += [Finding(path, number, p) for p in compare_inline(source(old), blog_meta(old, "inline"),
                                                                       blog_meta(new, "inline"))]  # fmt: skip
    return found


def compare_inline(text: str, stored: dict, fresh: dict) -> list[str]:
    "Each value a markdown cell shows against a fresh evaluation: written in `text`, or else `stored` (Quarto's form)."
    found = [differs(expr, shown, fresh[expr], "a fresh run gives") for expr, shown in written(text) if expr in fresh]
    found += [
        f"inline `{{python}} {expr}` shows {stored.get(expr)!r}, a fresh run gives {fresh[expr]!r}"
        for expr in quarto(text)
        if expr in fresh and stored.get(expr) != fresh[expr]
    ]
    return [f for f in found if f]


def check(paths: list[Path], root: Path, timeout: int | None = 600) -> list[Finding]:
    "Run every notebook afresh (two at a time) and list each difference from what it publishes."
    loaded = {p: load(p) for p in paths}  # read once: what runs is what the comparison is with
    fresh = run_loaded({p: data for p, (data, _) in loaded.items()}, timeout)
    return [f for p, (_, stored) in loaded.items() for f in compare(p, stored, fresh[p])]
