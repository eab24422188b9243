"""Where two nested results (dicts, lists, values) differ, as short paths: a property test
compares whole reports, and pytest's diff of two large dicts is too slow to redo at each step
of Hypothesis's shrinking."""

from __future__ import annotations


def differences(left: object, right: object, path: str = "", limit: int = 5) -> list[str]:
    """Up to `limit` paths where `left` and `right` differ, each with the two values."""
    found: list[str] = []
    _walk(left, right, path or "$", found, limit)
    return found


def _walk(left: object, right: object, path: str, found: list[str], limit: int) -> None:
    if len(found) >= limit:
        return
    if isinstance(left, dict) and isinstance(right, dict):
        if list(left) != list(right):
            found.append(f"{path}: keys {list(left)!r} != {list(right)!r}")
            return
        for key in left:
            _walk(left[key], right[key], f"{path}.{key}", found, limit)
    elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (one, other) in enumerate(zip(left, right, strict=True)):
            _walk(one, other, f"{path}[{index}]", found, limit)
    elif left != right:
        found.append(f"{path}: {left!r:.200} != {right!r:.200}")
