"""Record and registry checks read the schemas with fastjsonschema (draft 7) and word errors with
jsonschema (2020-12): the verdict must be jsonschema's on every record.

Why the two: jsonschema's import alone was a tenth of a one-article `qst extract`; fastjsonschema
compiles the schema to Python in a fiftieth of that. The comparison runs over real records with each
field replaced by values of every JSON type (booleans where integers are expected, whole floats,
negatives, empty strings, nulls, nested lists), missing required fields, and role dates that a
pattern alone would pass (31 February, 29 February of a common year, non-ASCII digits).
"""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from toolkit import ANNOTATIONS_DIR
from toolkit.attribution import speakers
from toolkit.attribution.extract import _fast_quote_check, extract_article, quote_validator, validate_record
from toolkit.errors import InputError
from toolkit.ingest import read_articles

VALUES = [None, True, False, 0, -1, 3, 1.0, 0.5, 1.5, "", "x", "direct", "person", "name", "q_0123456789abcdef",
          [], [1, 2], [[1, 2]], [[1]], [[-1, 2]], ["a"], [True], {}, {"a": 1}]


def _records() -> list[dict]:
    articles = list(read_articles(ANNOTATIONS_DIR / "articles"))[:6]
    return [r for a in articles for r in extract_article(a)][:8]


def _variants(record: dict) -> list[dict]:
    out = []
    for key in record:
        for value in VALUES:
            out.append({**record, key: copy.deepcopy(value)})
        out.append({k: v for k, v in record.items() if k != key})
    out.append({**record, "an_extra_field": 1})
    return out


def _fast_ok(check, data) -> bool:  # noqa: ANN001
    import fastjsonschema

    try:
        check(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def test_quote_records_get_jsonschemas_verdict() -> None:
    checked = refused = 0
    for record in _records():
        for variant in _variants(record):
            valid = next(iter(quote_validator().iter_errors(variant)), None) is None
            assert not _fast_ok(_fast_quote_check(), variant) or valid, variant  # fast "valid" is never wrong
            try:
                validate_record(variant)
                assert valid, variant
            except ValueError:
                assert not valid, variant
                refused += 1
            checked += 1
    assert checked > 1000 and 0 < refused < checked


def _role_entries() -> list[dict]:
    dates = ["2023-02-28", "2023-02-29", "2024-02-29", "2023-02-31", "2023-2-1", "2023-01-01T00:00",
             "０２０２３-01-01", "2023-01-0١", "0000-01-01", "gestern", None, 20230101, ""]
    base = {"id": "anna_muster", "name": "Anna Muster", "kind": "person"}
    entries = [{**base, "roles": [{"title": "Ministerin", "patterns": ["Ministerin"], "start": d}]} for d in dates]
    entries += [{**base, key: copy.deepcopy(value)} for key in ("id", "name", "kind", "gender", "focus", "aliases",
                                                               "short_names", "roles") for value in VALUES]
    entries += [{k: v for k, v in base.items() if k != key} for key in base]
    return entries


def test_registries_get_jsonschemas_verdict() -> None:
    refused = 0
    entries = _role_entries()
    for entry in entries:
        data = {"version": 1, "speakers": [entry]}
        valid = not speakers._registry_errors(data)
        assert not speakers._registry_valid(data) or valid, entry
        try:
            speakers.registry_from_dict(copy.deepcopy(data), "reg.yaml")
        except InputError as exc:
            refused += 1
            assert not valid or "start" in str(exc) or "duplicate" in str(exc), (entry, exc)
        else:
            assert valid, entry
    assert 0 < refused < len(entries)
    assert not speakers._registry_valid({"speakers": [_role_entries()[3]]})  # 2023-02-31: the pattern alone passes it


@pytest.mark.parametrize("date", ["2023-02-31", "2023-02-29"])
def test_an_impossible_role_date_is_still_refused_with_jsonschemas_words(date: str) -> None:
    entry = {"id": "a", "name": "A", "kind": "person", "roles": [{"title": "T", "patterns": ["T"], "start": date}]}
    with pytest.raises(InputError, match=rf"reg.yaml: speaker #1 \(id 'a'\), field roles.0.start: '{date}' is not a 'date'"):
        speakers.registry_from_dict({"speakers": [entry]}, "reg.yaml")


def test_extract_loads_no_jsonschema_when_everything_is_valid() -> None:
    code = ("import sys\nfrom toolkit.attribution.extract import extract_article, validate_record\n"
            "from toolkit.attribution.speakers import load_registry\n"
            "reg = load_registry(None)\n"
            "[validate_record(r) for r in extract_article({'id': 'a', 'text': 'Das sei gut, sagte Olaf Scholz.'}, reg)]\n"
            "print('jsonschema' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False"]
