"""Corpus-scale extraction: millions of articles, on one machine or on a Dask cluster.

plan (run options, input files, parts of K records) -> io (read one part) -> parts (extract and
write one part) -> engines (in-process, local worker processes, Dask) -> driver (`run_corpus`:
resume, manifest, errors; the only importer of engines). limits (per-article time limit, workers
that die with their parent) and lock (one run per output folder) serve them.
"""

#: The per-article function `qst extract-corpus` runs (module:function); kept here, in the light
#: package module, so the CLI can show it without importing pyarrow.
DEFAULT_EXTRACT_FN = "toolkit.attribution.extract:extract_article"
#: Seconds one article may take before it is reported as kind "timeout" (`--article-timeout`).
DEFAULT_ARTICLE_TIMEOUT = 60.0
