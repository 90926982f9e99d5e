"""Quote attribution and stance dataset toolkit for German news.

Data flows one way: articles -> quotes -> tasks -> annotations -> dataset -> model -> reports.
Each stage is a subpackage (attribution, labelstudio, dataset, stance, corpus) or a module (ingest,
agreement, pipeline) of small functions over plain records or pandas DataFrames; the `qst`
command (toolkit.cli) is a thin shell over them.
"""

from pathlib import Path

__version__ = "0.1.0"

#: Repository root when running from a checkout (schemas/, annotations/ live there).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
ANNOTATIONS_DIR = PROJECT_ROOT / "annotations"
