"""Corpus-scale extraction: millions of articles, on one machine or on a Dask cluster.

plan (run options, input files, parts of K records) -> io (read one part) -> parts (extract and
write one part) -> engines (in-process, local worker processes, Dask) -> driver (`run_corpus`:
resume, manifest, errors; the only importer of engines). limits (per-article time limit, workers
that die with their parent) and lock (one run per output folder) serve them.
"""
