"""Checks that JSON read back from a cache has the shape the builder expects, before anything uses it.

A cache is data from outside the build: a CI cache or an archive restored into `.cache/` keeps its
files' times and is not tracked by git, so nothing else tells it from one this machine wrote. A value
of any other shape is a miss, never an exception: `fits(value, kind)` says whether it has the shape.
"""

from __future__ import annotations

import re
import types
import typing

DIGEST = re.compile(r"[0-9a-f]{64}")  # a sha256 as hashlib's hexdigest writes it


def fits(value, kind) -> bool:
    """Whether JSON data `value` has the shape of `kind`: a plain type (str, int, bool, float, None), `list[X]`,
    `dict[K, V]`, `tuple[A, B]` (a JSON list of that length), `X | Y`, or a dict of key -> kind (a record: exactly
    those keys). An int is not a bool here, nor a bool an int."""
    if isinstance(kind, dict):
        return isinstance(value, dict) and value.keys() == kind.keys() and all(fits(value[k], kind[k]) for k in kind)
    if kind is None or kind is types.NoneType:
        return value is None
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(kind, type):
        return isinstance(value, kind)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        return any(fits(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(fits(v, args[0]) for v in value)
    if origin is tuple:
        return isinstance(value, list) and len(value) == len(args) and all(map(fits, value, args))
    if origin is dict:
        return isinstance(value, dict) and all(fits(k, args[0]) and fits(v, args[1]) for k, v in value.items())
    raise TypeError(f"no check for {kind!r}")


def is_digest(value) -> bool:
    "Whether `value` names a blob: a sha256 in lower-case hex, so it can never be a path of its own."
    return isinstance(value, str) and DIGEST.fullmatch(value) is not None
