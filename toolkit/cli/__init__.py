"""The `qst` command: a thin shell over the stage modules.

Each command group's subcommands live in toolkit/cli/<group>.py and register themselves on the
one Typer app here, so stages can grow without touching each other's code.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from rich.console import Console
from rich.markup import escape

from toolkit.cli.options import is_no_args_help, usage_line
from toolkit.errors import ToolkitError
from toolkit.redact import install_log_redaction, redact

app = typer.Typer(
    name="qst",
    help="Quote attribution and stance dataset toolkit for German news.\n\n"
    "articles -> quotes (extract) -> Label Studio tasks (export/push) -> annotations (pull/import) "
    "-> agreement/adjudication -> dataset (build-dataset/publish) -> model (train/predict) -> reports.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
console = Console(stderr=True)

#: Command modules, in pipeline order. A module missing here is simply not offered.
COMMAND_MODULES = ["extract", "attribution", "evaluation", "labelstudio", "agreement", "stance", "dataset", "corpus", "pipeline"]


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"toolkit.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"toolkit.cli.{name}":
                continue
            raise
        module.register(app)


_register()


def _error(message: str) -> None:
    # soft_wrap: one line however long the path; escape: a "[…]" in a message is not markup.
    console.print(f"[bold red]error:[/] {escape(redact(message))}", highlight=False, markup=True, soft_wrap=True)


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
        console.print("Aborted!", highlight=False)
        sys.exit(1)
    except Exception as exc:
        exit_code = getattr(exc, "exit_code", None)
        if not hasattr(exc, "format_message") or not isinstance(exit_code, int):
            raise  # a bug: Typer's pretty traceback
        if not is_no_args_help(exc):
            _error(usage_line(exc))
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)
