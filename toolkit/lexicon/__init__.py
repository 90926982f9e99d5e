"""The German word lists of the quote rules, as data (toolkit/lexicon/*.yaml, docs/lexicon.md).

Reporting verbs, Konjunktiv forms, nouns of saying, role nouns, adverbs and function words
live in YAML files validated by schemas/lexicon.schema.json, so that a user who needs another
outlet's cue verbs adds them in a file (`qst extract --lexicon extra.yaml`) instead of editing
code. They are read, validated and compiled once per set of files (cached).

The rules read their patterns from `LEX`, one shared `Patterns` object; `use_lexicon` fills it
from the bundled lists plus extra files, in place, so every module sees the same lists.
Extraction stays a pure function of (article, registry, lexicon).

Modules: `load` (read, validate, merge), `compile` (the patterns), `active` (`LEX`, `use_lexicon`).
"""
