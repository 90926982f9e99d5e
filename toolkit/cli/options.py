"""Option ranges shared by the `qst` commands, and the one-line form of a usage error.

Why: an out-of-range number (`--folds 0`, `--bootstrap 0`, `--test-size 1.5`) used to reach
scikit-learn or numpy and end in a traceback, or was silently ignored. Closed ranges are declared
with Typer's own `min=`/`max=` (they also show in `--help`); open ones (a share strictly between
0 and 1) with the `fraction` callback. Either way the CLI prints the same single line,
`error: --folds: must be ≥ 2, got 0`, instead of Typer's multi-line box (`usage_line`).
"""

from __future__ import annotations

import sys
from typing import Any

import typer

#: Largest seed numpy's and scikit-learn's random states accept (2**32 - 1).
SEED_MAX = 2**32 - 1

# The click exception classes Typer raises: its vendored copy (typer >= 0.20) or click itself.
_errors = sys.modules[typer.BadParameter.__module__]


def fraction(value: float) -> float:
    """Typer callback: a share strictly between 0 and 1 (0 or 1 would leave a split empty)."""
    if not 0 < value < 1:
        raise typer.BadParameter(f"must be > 0 and < 1, got {value:g}")
    return value


def _bound(param: Any, name: str) -> Any:
    """A parameter's min/max: on the parameter (typer >= 0.20) or on its click range type."""
    value = getattr(param, name, None)
    return value if value is not None else getattr(getattr(param, "type", None), name, None)


def _given(exc: BaseException) -> Any:
    """The raw value the user typed, when the validator that refused it kept it (pydantic does)."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        try:
            return errors()[0].get("input")
        except (IndexError, TypeError, AttributeError):
            return None
    return None


def _name(param: Any) -> str:
    """`--long-name` for an option, the metavar-style name for an argument."""
    opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    if opts and getattr(param, "param_type_name", "") == "option":
        return max(opts, key=len)
    return str(getattr(param, "human_readable_name", None) or param.name).upper()


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _range(low: Any, high: Any) -> str:
    parts = ([f"≥ {_num(low)}"] if low is not None else []) + ([f"≤ {_num(high)}"] if high is not None else [])
    return " and ".join(parts)


def usage_line(exc: Exception) -> str:
    """One line for a usage error: option name, what it must be, what was given.

    Typer would print a usage line, a hint and a framed box; the project's rule is one
    `error: ...` line naming the option (docs/GUARANTEES.md, "Options and tables").
    """
    param = getattr(exc, "param", None)
    if param is None or not isinstance(exc, _errors.BadParameter):
        return " ".join(exc.format_message().split())
    name = _name(param)
    if isinstance(exc, _errors.MissingParameter):
        return f"{name}: required, not given"
    given = _given(exc)
    low, high = _bound(param, "min"), _bound(param, "max")
    try:
        number = float(given) if given is not None else None
    except (TypeError, ValueError):
        number = None
    if number is not None and (low is not None or high is not None):
        return f"{name}: must be {_range(low, high)}, got {given}"
    message = " ".join(str(exc.message).split())
    return f"{name}: {message}" + (f", got {given!r}" if given is not None else "")


def is_no_args_help(exc: Exception) -> bool:
    """`qst` with no arguments: Typer has already printed the help; only the exit status is left."""
    cls = getattr(_errors, "NoArgsIsHelpError", None)
    return cls is not None and isinstance(exc, cls)
