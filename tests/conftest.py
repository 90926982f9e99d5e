"""Session-wide test settings.

The annotator salt: without QST_ANNOTATOR_SALT, `qst` creates a salt file in the user's
~/.config on first use (toolkit.labelstudio.identity). A test run must not write into the home
folder of whoever runs it, so every test (and every `qst` it starts) gets a salt file in a
session temp folder instead, unless the caller set one explicitly.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_SALT_DIR = tempfile.mkdtemp(prefix="qst-test-salt-")
atexit.register(shutil.rmtree, _SALT_DIR, True)
os.environ.setdefault("QST_ANNOTATOR_SALT_FILE", str(Path(_SALT_DIR) / "annotator-salt"))

# The lexicon cache (toolkit.lexicon.load.cache_dir): likewise in a session temp folder, not ~/.cache.
_CACHE_DIR = tempfile.mkdtemp(prefix="qst-test-cache-")
atexit.register(shutil.rmtree, _CACHE_DIR, True)
os.environ.setdefault("QST_CACHE_DIR", _CACHE_DIR)
