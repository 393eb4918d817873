"""Self-checking exercises: `check("name")` tells a student whether their answer is right, without the answer.

The author writes the checks once, in the answer key, after a solution cell:

    #| checks: true
    check("acc_pair", tol=1e-4, mistakes={"close, but `nearest_mean` returns positions 0/1, not digits": 0.0})

Run in the key, `check` records the key's own value as an *expectation*: its kind, shape and dtype in
plain words, and the value itself only as a salted hash of its numbers rounded to the tolerance
(for a float array: of its mean and two more moments, so that one element's last bit cannot flip it).
`make handouts` copies that expectation into the student notebook, where the same call compares the
student's value with it: a wrong shape, dtype or value gets a message saying what is wrong, a known
mistake gets the author's hint, and the answer is never printed.

Why hashes and not the key's outputs: a student runs the checks alone, offline, in Jupyter or Colab,
with nothing but the student notebook. A rounded hash can be brute-forced by a determined student
(a 4-digit accuracy has 10,000 candidates); it keeps the answer out of sight, not out of reach.
Grading (`make grade`) does not trust the student's copy of the checks: it puts the key's back in.

A name the student has not answered yet (still `...`, or not defined at all) is reported, and the
notebook runs on: "Run All" does not stop at the first open exercise.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from dataclasses import dataclass

RESULT_MIME = "application/vnd.blog.check-result+json"  # what `make grade` reads from a check cell's outputs
EXPECT_MIME = "application/vnd.blog.check-expect+json"  # what `make handouts` reads from the key's outputs
KINDS = {"f": "floating-point numbers", "i": "integers", "u": "integers", "b": "booleans", "c": "complex numbers"}


@dataclass
class Result:
    label: str
    name: str
    status: str  # pass, fail, unanswered
    message: str

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.message, RESULT_MIME: self.__dict__}

    def __repr__(self) -> str:
        return self.message


def as_array(value):
    "Any answer as a numpy array (a tensor, an array, a number, a list or tuple of numbers), or None."
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # ragged lists and other objects numpy cannot make one array of
        return None
    return array if array.dtype.kind in KINDS else None


def digest(salt: str, *parts) -> str:
    return hashlib.sha256(json.dumps([salt, *parts]).encode()).hexdigest()[:16]


def summary(array, tol: float) -> list[int]:
    """The numbers a hash is taken of, as integers on the tolerance's grid. Integers and booleans are
    exact, every element; floats are their mean, mean square and index-weighted mean."""
    import numpy as np

    flat = array.astype(np.float64).ravel() if array.dtype.kind in "fc" else array.ravel()
    if array.dtype.kind not in "fc":
        return flat.astype(np.int64).tolist()
    if flat.size <= 1:
        return [int(np.rint(x / tol)) for x in flat.real]
    weights = np.linspace(1, 2, flat.size)
    moments = [flat.real.mean(), (flat.real**2).mean(), (flat.real * weights).mean()]
    return [int(np.rint(m / tol)) for m in moments]


def text_digest(name: str, value) -> str:
    "Text answers match whatever their case and surrounding spaces; other objects by their repr."
    return digest(name, repr(value.strip().lower() if isinstance(value, str) else value))


def expectation(name: str, value, tol: float, mistakes: dict | None = None) -> dict:
    "What a student notebook may know of the key's answer: its kind, shape, dtype and hashes."
    array = as_array(value)
    if array is None:
        found = {"name": name, "type": type(value).__name__, "digest": text_digest(name, value)}
        return found | {"mistakes": {hint: text_digest(name, v) for hint, v in (mistakes or {}).items()}}
    found = {"name": name, "shape": list(array.shape), "dtype": array.dtype.kind, "tol": tol}
    found["digest"] = digest(name, found["shape"], summary(array, tol))
    found["mistakes"] = {hint: expectation(name, v, tol)["digest"] for hint, v in (mistakes or {}).items()}
    return found


def near_digests(name: str, array, tol: float) -> set[str]:
    "Hashes of the answer and of its neighbours on the grid: rounding must not fail a value within `tol`."
    import itertools

    numbers, shape = summary(array, tol), list(array.shape)
    if array.dtype.kind not in "fc":
        return {digest(name, shape, numbers)}
    steps = itertools.product((-1, 0, 1), repeat=len(numbers))
    return {digest(name, shape, [n + s for n, s in zip(numbers, step, strict=True)]) for step in steps}


def shape_text(shape) -> str:
    return "() (a single number)" if not len(shape) else f"({shape[0]},)" if len(shape) == 1 else str(tuple(shape))


def same_kind(array, want: str | None):
    """`array` as the kind of number the key's answer is, where no value changes: 1.0 for an integer
    answer is 1, and 3 for a float answer is 3.0. Anything else stays as it is and fails by its kind."""
    import numpy as np

    kind = array.dtype.kind
    if want is None or kind == want or array.size == 0:
        return array
    if want == "b" and kind in "iu" and ((array == 0) | (array == 1)).all():
        return array.astype(bool)
    if want in "iu" and kind == "b":
        return array.astype(np.int64)
    if want in "iu" and kind == "f" and np.isfinite(array).all() and (array == np.rint(array)).all():
        return array.astype(np.int64)
    if want == "f" and kind in "iub":
        return array.astype(np.float64)
    return array


def type_name(value) -> str:
    return getattr(value, "type_name", type(value).__name__)


def compare(name: str, value, expect: dict) -> tuple[str, str]:
    "(status, what is wrong) of a value against an expectation. A known mistake's hint comes first."
    array = as_array(value)
    array = None if array is None else same_kind(array, expect.get("dtype"))
    near = {text_digest(name, value)} if array is None else near_digests(name, array, expect.get("tol", 1e-4))
    if expect["digest"] in near:
        return "pass", ""
    hint = next((h for h, d in expect.get("mistakes", {}).items() if d in near), None)
    if hint:
        return "fail", hint
    if "shape" not in expect:
        return "fail", f"expected a {expect['type']} with another value"
    if array is None:
        return "fail", f"expected numbers (a tensor, array or number), got a {type_name(value)}"
    if list(array.shape) != expect["shape"]:
        return "fail", f"expected a shape of {shape_text(expect['shape'])}, got {shape_text(array.shape)}"
    kinds = KINDS[expect["dtype"]], KINDS[array.dtype.kind]
    if array.ndim and kinds[0] != kinds[1]:
        return "fail", f"expected {kinds[0]}, got {kinds[1]}"
    within = f" (compared to within {expect['tol']:g})" if expect["dtype"] in "fc" else ""
    return "fail", f"the shape and type are right, but not the value{within}"


class Undefined:
    "A name the student's cells have not defined: the answer cell was not run, or raised before it."


# Grading carries a student's values out of the sandbox as plain data (JSON), never as pickles or objects, and
# compares them outside it. Arrays bigger than this are not carried: no exercise asks for one.
WIRE_ELEMENTS = 1_000_000
WIRE_TEXT = 100_000
DTYPE = re.compile(r"[<>|=]?[biufc][1-9][0-6]?")


class Shown:
    "A value that is neither text nor numbers, as the sandbox saw it: its type's name and its repr."

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text


def to_wire(value) -> dict:
    "A student's value as JSON-able data: what leaves the sandbox."
    if value is ... or value is Undefined:
        return {"missing": "ellipsis" if value is ... else "undefined"}
    if isinstance(value, str):
        return {"text": value[:WIRE_TEXT]}
    array = as_array(value)
    if array is None:
        return {"repr": repr(value)[:WIRE_TEXT], "type": type(value).__name__[:200]}
    if array.size > WIRE_ELEMENTS:
        return {"too_big": list(array.shape)}
    flat = array.ravel()
    data = [[z.real, z.imag] for z in flat.tolist()] if array.dtype.kind == "c" else flat.tolist()
    return {"array": {"dtype": array.dtype.str, "shape": list(array.shape), "data": data}}


def from_wire(data):
    "The value `to_wire` described, checked as untrusted input: a ValueError where it is malformed."
    import numpy as np

    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ValueError("not a value")
    if data.get("missing") in ("ellipsis", "undefined"):
        return ... if data["missing"] == "ellipsis" else Undefined
    if isinstance(data.get("text"), str):
        return data["text"]
    if isinstance(data.get("repr"), str) and isinstance(data.get("type"), str):
        return Shown(data["type"], data["repr"])
    if isinstance(data.get("too_big"), list):
        return Shown("array too large to grade", "")
    found = data.get("array")
    if not isinstance(found, dict) or not DTYPE.fullmatch(str(found.get("dtype"))):
        raise ValueError("not a value")
    shape, items = found.get("shape"), found.get("data")
    if not (isinstance(shape, list) and all(type(n) is int and 0 <= n <= WIRE_ELEMENTS for n in shape)):
        raise ValueError("not a shape")
    if not isinstance(items, list) or len(items) != int(np.prod(shape)) or len(items) > WIRE_ELEMENTS:
        raise ValueError("the data does not fit the shape")
    dtype = np.dtype(found["dtype"])
    if dtype.kind == "c":
        items = [complex(*z) for z in items]
    return np.array(items, dtype=dtype).reshape(shape)


def answer_of(name: str, namespace: dict):
    "The student's value of `name` (a dotted or indexed expression is evaluated), or Undefined."
    try:
        return eval(name, namespace)  # the name comes from the notebook's own check cell
    except NameError:
        return Undefined


def verdict(label: str, name: str, value, expect: dict) -> Result:
    if value is ... or value is Undefined:
        why = "is still `...`" if value is ... else "is not defined: run the cell with your answer (did it raise?)"
        return Result(label, name, "unanswered", f"{label}: not answered yet: `{name}` {why}.")
    status, problem = compare(name, value, expect)
    message = f"{label}: correct, well done." if status == "pass" else f"{label}: not yet. `{name}`: {problem}."
    return Result(label, name, status, message)


def check(name: str, expect: dict | None = None, *, tol: float = 1e-4, mistakes: dict | None = None) -> None:
    """Check the answer stored in the variable `name`. In the answer key (no `expect`), record the key's
    value for the student notebook; in a student notebook, compare with it and say what is wrong."""
    value = answer_of(name, inspect.currentframe().f_back.f_globals)
    if expect is None:
        show(recorded(name, value, tol, mistakes))
    else:
        show(verdict(expect.get("label", "This exercise"), name, value, expect))


def show(result) -> None:
    "Displayed, not returned: a cell of several checks shows each, and the last one only once."
    from IPython import get_ipython
    from IPython.display import display

    display(result) if get_ipython() else print(repr(result))


class Recorded(dict):
    "The key's expectation, shown in the key as one line (the gate compares it) and stored for the handouts."

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": repr(self), EXPECT_MIME: dict(self)}

    def __repr__(self) -> str:
        what = f"shape {shape_text(self['shape'])}" if "shape" in self else self["type"]
        return f"expected answer recorded: `{self['name']}`, {what} [{self['digest']}]"


def recorded(name: str, value, tol: float, mistakes: dict | None) -> Recorded:
    if value is ... or value is Undefined:
        raise NameError(f"check({name!r}): the answer key has no value for `{name}`")
    return Recorded(expectation(name, value, tol, mistakes))
