"""Corpus-scale extraction: millions of articles, on one machine or on a Dask cluster.

plan (run options, input files, parts of K records) -> io (read one part) -> parts (extract and
write one part) -> engines (in-process, local worker processes, Dask) -> driver (`run_corpus`:
resume, manifest, errors; the only importer of engines).
"""

#: The per-article function `qst extract-corpus` runs (module:function); kept here, in the light
#: package module, so the CLI can show it without importing pyarrow.
DEFAULT_EXTRACT_FN = "toolkit.attribution.extract:extract_article"
