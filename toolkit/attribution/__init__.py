"""Quote attribution: article text in, attributed quote records out, and their scoring.

segment (paragraphs, sentences) -> quotes (quote marks, indirect frames) -> speakers (registry,
mention resolution) -> extract (the per-article record builder, schemas/quote.schema.json).
evaluation scores records against hand-annotated gold; spkatt is the GermEval 2023 SpkAtt metric.
"""
