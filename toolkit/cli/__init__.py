"""The `qst` command: a thin shell over the stage modules.

Each command group's subcommands live in toolkit/cli/<group>.py and register themselves with its
`register(app)`, so stages can grow without touching each other's code. `COMMANDS` names each
command's module, and a module is imported only when one of its commands is looked up (`LazyGroup`):
a `qst` process pays for the command it runs, not for all seventeen.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator, MutableMapping
from functools import lru_cache
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from toolkit.cli.options import is_no_args_help, usage_line
from toolkit.errors import ToolkitError
from toolkit.redact import install_log_redaction, redact

#: Every command and the module in toolkit/cli that registers it, in the order `qst --help` lists
#: them (pipeline order). The module is imported only when one of its commands is looked up: `qst
#: extract` imports toolkit.cli.extract alone, `qst --help` all of them for their help texts.
#: tests/test_cli_startup.py checks this table against what the modules register.
COMMANDS: dict[str, str] = {
    "extract": "extract", "train-attribution": "attribution", "evaluate-attribution": "evaluation",
    "export": "labelstudio", "push": "labelstudio", "pull": "labelstudio", "import": "labelstudio",
    "ls-config": "labelstudio", "status": "labelstudio", "agreement": "agreement", "train": "stance",
    "predict": "stance", "select": "stance", "build-dataset": "dataset", "publish": "dataset",
    "extract-corpus": "corpus", "run": "pipeline",
}
#: Command modules, in pipeline order.
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))

_HELP = ("Quote attribution and stance dataset toolkit for German news.\n\n"
         "articles -> quotes (extract) -> Label Studio tasks (export/push) -> annotations (pull/import) "
         "-> agreement/adjudication -> dataset (build-dataset/publish) -> model (train/predict) -> reports.")
_SETTINGS: dict[str, Any] = {"pretty_exceptions_show_locals": False, "rich_markup_mode": "rich"}


@lru_cache(maxsize=None)
def module_commands(module: str) -> dict[str, Any]:
    """The click commands one toolkit/cli module registers, built the way Typer builds them for
    the app (same settings), so a command looks and parses the same whether loaded alone or with
    all the others."""
    sub = typer.Typer(**_SETTINGS)
    importlib.import_module(f"toolkit.cli.{module}").register(sub)
    return dict(typer.main.get_group(sub).commands)


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
    key = cache.key(typer.__version__, *(here / f"{m}.py" for m in ["__init__", *COMMAND_MODULES]))
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


class LazyGroup(TyperGroup):
    """The `qst` group: Typer's own, with its commands in a `_LazyCommands` mapping."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _LazyCommands(self.commands)

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


def command_names() -> list[str]:
    """Every `qst` command, in help order."""
    return list(COMMANDS)


def _error(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    # soft_wrap: one line however long the path; escape: a "[…]" in a message is not markup.
    Console(stderr=True).print(f"[bold red]error:[/] {escape(redact(message))}", highlight=False, markup=True, soft_wrap=True)


def main() -> None:
    """Entry point: run the app; bad input or a bad option is one `error:` line and exit code 2.

    Typer runs in non-standalone mode so that its usage errors (an option out of range, a
    missing argument) reach us instead of being drawn as a multi-line box. Every log line and
    every error message goes through toolkit.redact: no API key, token or URL password reaches
    the terminal, whichever library wrote the text.
    """
    install_log_redaction()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
    except ToolkitError as exc:
        _error(str(exc))
        sys.exit(2)
    except typer.Abort:
        print("Aborted!", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:
        exit_code = getattr(exc, "exit_code", None)
        if not hasattr(exc, "format_message") or not isinstance(exit_code, int):
            raise  # a bug: Typer's pretty traceback
        if not is_no_args_help(exc):
            _error(usage_line(exc))
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)
