"""The `qst` Typer app: its group (`LazyGroup`, commands built on first look-up from `COMMANDS`), the
cached command listing its help draws, and the settings every command is built with.

Why a module of its own: `toolkit.cli` (the entry point, `main`) imports Typer and Rich only when a
command runs; a `qst --help` served from the help cache (`toolkit.cli.helpcache`) imports neither.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from functools import lru_cache
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from toolkit.cli import COMMAND_MODULES, COMMANDS
from toolkit.cli.plainparams import plain_coercion

_HELP = ("Quote attribution and stance dataset toolkit for German news.\n\n"
         "articles -> quotes (extract) -> Label Studio tasks (export/push) -> annotations (pull/import) "
         "-> agreement/adjudication -> dataset (build-dataset/publish) -> model (train/predict) -> reports.")
_SETTINGS: dict[str, Any] = {"pretty_exceptions_show_locals": False, "rich_markup_mode": "rich"}


@lru_cache(maxsize=None)
def module_commands(module: str) -> dict[str, Any]:
    """The click commands one toolkit/cli module registers, built the way Typer builds them for
    the app (same settings), so a command looks and parses the same whether loaded alone or with
    all the others. Their plain parameters are coerced without pydantic (`PlainCommand`)."""
    sub = typer.Typer(**_SETTINGS)
    importlib.import_module(f"toolkit.cli.{module}").register(sub)
    commands = dict(typer.main.get_group(sub).commands)
    for command in commands.values():
        if type(command) is TyperCommand:  # the class Typer builds a command with: same object, one method more
            command.__class__ = PlainCommand
    return commands


#: The fields of a command that the group's help shows (typer.rich_utils and click's formatter).
_LISTED = ("help", "short_help", "hidden", "deprecated", "rich_help_panel")


def _listing() -> dict[str, dict[str, Any]]:
    """What `qst --help` shows of each command, from the cache (toolkit.cache) when it holds it for
    these very command modules and this Typer, else from the commands themselves (and then cached).
    Why: importing the nine command modules and building their seventeen commands was a sixth of
    `qst --help`, only to read seventeen help texts."""
    from pathlib import Path

    from toolkit import cache

    here = Path(__file__).resolve().parent
    key = cache.key(typer.__version__, *(here / f"{m}.py" for m in ["__init__", "group", *COMMAND_MODULES]))
    listing = cache.read("cli-help", key)
    if isinstance(listing, dict) and list(listing) == list(COMMANDS) and all(
            isinstance(v, dict) and set(v) == set(_LISTED) for v in listing.values()):
        return listing
    listing = {name: {f: _field(module_commands(COMMANDS[name])[name], f) for f in _LISTED} for name in COMMANDS}
    cache.write("cli-help", key, listing)
    return listing


def _field(command: Any, name: str) -> Any:
    """A command's field as plain data (Typer keeps an unset panel as a placeholder of its default)."""
    from typer.models import DefaultPlaceholder

    value = getattr(command, name, None)
    return value.value if isinstance(value, DefaultPlaceholder) else value


class _LazyCommands(MutableMapping[str, Any]):
    """The group's name -> command mapping with every name of `COMMANDS` present from the start and
    each command built on first look-up. Typer reads the group's commands through this mapping
    only (look-up, listing, the "did you mean" names), so nothing else needs to know. While the
    group's own help is drawn (`listing` set), a command not built yet is given as a stand-in that
    holds only what the help shows of it (`_listing`)."""

    def __init__(self, eager: MutableMapping[str, Any]) -> None:
        self._loaded: dict[str, Any] = dict(eager)
        self.listing: dict[str, dict[str, Any]] | None = None

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded and name in COMMANDS:
            if self.listing is not None:
                return TyperCommand(name, rich_markup_mode=_SETTINGS["rich_markup_mode"], **self.listing[name])
            self._loaded.update(module_commands(COMMANDS[name]))
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMANDS, *self._loaded]))

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._loaded


class PlainCommand(TyperCommand):
    """Typer's command, its parameters (with the `--help` option Typer adds on first use) coerced
    without pydantic where Typer's coercion is plain Python (`toolkit.cli.plainparams`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return plain_coercion(super().get_params(ctx))


class LazyGroup(TyperGroup):
    """The `qst` group: Typer's own, with its commands in a `_LazyCommands` mapping and its own
    options (`--install-completion`, ...) coerced without pydantic (`toolkit.cli.plainparams`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _LazyCommands(self.commands)

    def get_params(self, ctx: Any) -> list[Any]:
        return plain_coercion(super().get_params(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        commands = self.commands
        if not isinstance(commands, _LazyCommands):
            return super().format_help(ctx, formatter)
        commands.listing = _listing()
        try:
            return super().format_help(ctx, formatter)
        finally:
            commands.listing = None


app = typer.Typer(name="qst", help=_HELP, no_args_is_help=True, cls=LazyGroup, **_SETTINGS)


@app.callback()
def _group() -> None:
    # Typer makes a group only of an app with a callback or registered commands; the commands
    # come from `COMMANDS`, so the app has this empty callback (no options, no help text of its own).
    return None
