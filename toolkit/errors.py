"""One exception type for bad user input, so the CLI can print it without a traceback.

Messages must name the file, line, task or field that is wrong; the CLI shows them as-is.
"""


class ToolkitError(Exception):
    """Bad input or environment the user can fix; the message says where and what."""


class InputError(ToolkitError):
    """A file, line, record or option the user gave is malformed."""
