"""Quote frames, one finder per construction (textacy `extract/` style: small generators of small
typed records, the German examples each handles in its docstring).

=================  =====================================================  ===========================
module             constructions                                          finders
=================  =====================================================  ===========================
prep               laut/gemäß X, nach Angaben X, X nach, Wie X erklärte,  `prep_quotes`,
                   X zufolge, …, wonach …, Demnach/Danach …               `zufolge_quotes`, …
trailing           <clause>, sagte X · <clause>, so X · Dies bestätigte X `trailing_quotes`,
                                                                          `anaphoric_quotes`
verb               X sagte, dass … · sagte er, <Konjunktiv clause> ·      `verb_quotes`
                   drohte, … zu … · der Verdacht, er sei …
direct             „…“, sagte X · X sagte: „…“ · X: „…“ · continuations · `direct_quotes`,
                   naming verbs + short quoted phrase                     `fragment_frame`, `colon_frame`
free_indirect      Konjunktiv sentences that continue a frame             `free_indirect`
=================  =====================================================  ===========================

`toolkit.attribution.quotes.detect_quotes` runs them in that order over a paragraph; the first
quote to claim a span keeps it. The word lists they use are data (toolkit/lexicon/, docs/lexicon.md).
"""
