"""Typer's coercion of the plain parameter kinds (paths, strings, flags, lists of them) without pydantic.

Why: Typer 0.29 coerces every parameter's value through a pydantic `TypeAdapter`, built on the
first value, so a `qst extract` process imported pydantic and built eight adapters (about 0.15
CPU-s of a one-article run) only to turn command-line strings into `str` and `Path`. For these
kinds the adapter is a wrapper around plain Python: `str` stays itself, a `Path` is `Path(text)`
and then Typer's own `coerce_cli_path` checks it. `plain_coercion` gives such a parameter a
`RuntimeParam` that does exactly that on the values it can answer alike (a `str`, a `Path`, a
`bool`) and hands anything else to the pydantic coercion Typer would have used, so every outcome,
every value and every error message, is Typer's (tests/test_cli_plainparams.py compares the two).
Numbers, choices, dates, files and custom parsers are left to Typer. Needs Typer's private
`RuntimeParam` hook (`_TyperParameter._runtime_param`); without it nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

try:  # Typer >= 0.29's coercion layer; older or newer layouts keep their own coercion.
    from typer._coercion import RuntimeParam, build_runtime_param, resolve_type_descriptor
    from typer._param_types import coerce_cli_path

    _HOOK = True
except ImportError:  # pragma: no cover - depends on the installed Typer
    RuntimeParam = object  # type: ignore[assignment,misc]
    _HOOK = False

#: The leaf annotations answered here; anything else keeps Typer's coercion.
_PLAIN = (str, bool, Path)


def _leaf_plain(annotation: Any, info: Any) -> bool:
    """Whether Typer would coerce this leaf annotation by a bare str/bool/Path adapter."""
    if annotation not in _PLAIN or getattr(info, "parser", None) is not None:
        return False
    return annotation is not Path or getattr(info, "path_type", None) is None


def _plain_annotation(descriptor: Any) -> bool:
    """A leaf of `_PLAIN` or a list of one, with no file, choice, range or parser."""
    if descriptor.file_annotation is not None or descriptor.is_choice or descriptor.is_ranged:
        return False
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if get_origin(annotation) is list:
        args = get_args(annotation)
        return len(args) == 1 and _leaf_plain(args[0], info)
    return _leaf_plain(annotation, info)


def _plain_value(value: Any, annotation: Any) -> Any:
    """What Typer's adapter makes of `value` for a `_PLAIN` leaf, or `_ASK_TYPER` where it would
    take pydantic to tell (another type of value; a path that does not print back as typed)."""
    if annotation is Path:
        # Path(text) is what pydantic makes of text; when it prints back as the same text, Typer's
        # messages (which quote what was given) read the same too.
        if isinstance(value, Path):
            return value
        if type(value) is str and str(Path(value)) == value:
            return Path(value)
    elif type(value) is annotation:
        return value
    return _ASK_TYPER


_ASK_TYPER = object()


@dataclass(frozen=True)
class PlainRuntimeParam(RuntimeParam):
    """Coercion of a `_PLAIN` leaf (or a list of them) as Typer's adapter does it, without pydantic."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        many = get_origin(self.annotation) is list
        leaf = get_args(self.annotation)[0] if many else self.annotation
        items = (value if isinstance(value, (list, tuple)) else [value]) if many else [value]
        plain = [_plain_value(item, leaf) for item in items]
        if any(item is _ASK_TYPER for item in plain):
            return self._typer()._coerce_value(value, param=param, ctx=ctx)
        if leaf is Path:
            plain = [coerce_cli_path(p, self.parameter_info, path_type=Path, param=param, ctx=ctx) for p in plain]
        return plain if many else plain[0]

    def _typer(self) -> Any:
        """Typer's own (pydantic) coercion of this parameter, for the values not answered here."""
        return build_runtime_param(resolve_type_descriptor(self.annotation, self.parameter_info))


def plain_coercion(params: Any) -> Any:
    """Give each plain parameter among `params` the pydantic-free coercion (see the module); returns them."""
    if not _HOOK:
        return params
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", False) is not None:
            continue
        if _plain_annotation(descriptor):
            param._runtime_param = PlainRuntimeParam(parameter_info=descriptor.parameter_info,
                                                     annotation=descriptor.annotation)
    return params
