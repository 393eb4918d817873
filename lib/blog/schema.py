"""Types of front matter and `_config.yml` values, checked in one place.

YAML guesses types (`date: 2021-08-20` is a date, `hide: "false"` a string, `yes` a boolean), and
a guess taken silently can publish a post its author meant to hide. So each key has a type, and a
value of another type is converted only where that is unambiguous, or is an error naming the file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from lib.blog.errors import BuildError

TRUE, FALSE = {"true", "yes", "on"}, {"false", "no", "off"}


def as_text(value, key: str) -> str:
    "Numbers and dates read as text; lists, maps and booleans are errors."
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise ValueError(f"{key} must be text, not {_kind(value)}")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def as_bool(value, key: str) -> bool:
    "True/False, or the words true/false, yes/no, on/off; anything else is an error."
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise ValueError(f"{key} must be true or false, not {value!r}")


def as_int(value, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"{key} must be a whole number, not {value!r}")


def as_list(value, key: str) -> list[str]:
    "A list of names, or one string of them separated by commas, or else by spaces (as Jekyll splits one)."
    if value is None:
        return []
    if isinstance(value, list):
        return [as_text(v, f"each of {key}") for v in value]
    text = as_text(value, key)
    return [s.strip() for s in text.split("," if "," in text else None) if s.strip()]


def as_flags(value, key: str) -> dict[str, bool]:
    "A map of names to booleans, such as `default_badges`."
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a map of names to true/false, like {{github: true}}, not {value!r}")
    return {str(k): as_bool(v, f"{key}.{k}") for k, v in value.items()}


def _kind(value) -> str:
    return {bool: "true/false", list: "a list", dict: "a map"}.get(type(value), type(value).__name__)


CONVERT = {str: as_text, bool: as_bool, int: as_int, list: as_list, dict: as_flags}


def typed(values: dict, types: dict[str, type], path: Path, cell: int | None = None) -> dict:
    "Each value of `values` whose key has a type in `types`, converted; a bad one names the file."
    out = dict(values)
    for key, kind in types.items():
        if key in values and values[key] is not None:
            try:
                out[key] = CONVERT[kind](values[key], key)
            except ValueError as e:
                raise BuildError(path, str(e), cell) from None
    return out
