"""The dataset folder's fixed shape, shared by build (writes it) and card (documents it)."""

from __future__ import annotations

SPLITS = ("train", "validation", "test")
DATA_FILE = "data/{split}-00000-of-00001.parquet"
