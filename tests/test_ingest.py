"""Ingest and segmentation: normalisation, boilerplate marking, readable errors (SoMaJo's patched
tokens and offsets against an unpatched SoMaJo: tests/test_segment.py)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from toolkit import ANNOTATIONS_DIR
from toolkit.errors import InputError
from toolkit.attribution.extract import extract_article
from toolkit.ingest import in_boilerplate, make_article, read_articles
from toolkit.attribution.segment import paragraphs, sentences

SEEDS = ANNOTATIONS_DIR / "articles"


def seeds() -> dict[str, dict]:
    return {a["id"]: a for a in read_articles(SEEDS)}


def test_seed_copy_is_the_users_corpus() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not shared.exists():
        pytest.skip("../shared/seeds not beside the checkout")
    for path in shared.glob("*.txt"):
        assert (SEEDS / path.name).read_bytes() == path.read_bytes()


def test_boilerplate_is_marked_not_removed() -> None:
    arts = seeds()
    a = arts["003_c66073fdbb839d5c"]
    kinds = {b["kind"]: a["text"][b["start"]:b["end"]] for b in a["boilerplate"]}
    assert kinds["photo_credit"] == "Getty Images"
    assert kinds["source_marker"] == "source site-13"
    assert kinds["comment_form"] == "Leave a Reply"
    assert kinds["caption"].startswith("Wladimir Putin (links) ist am 11. September 2023")
    assert a["text"] == unicodedata.normalize("NFC", (SEEDS / "003_c66073fdbb839d5c.txt").read_text("utf-8"))
    teaser = [b for b in arts["001_482e179ace3613e9"]["boilerplate"] if b["kind"] == "teaser"]
    assert arts["001_482e179ace3613e9"]["text"][teaser[0]["start"]:teaser[0]["end"]].startswith("Mehr zum Thema – Bericht")


def test_nothing_is_extracted_from_boilerplate() -> None:
    for a in seeds().values():
        for rec in extract_article(a):
            assert not in_boilerplate(a, rec["start"], rec["end"]), rec["text"]


def test_metadata_sidecar_gives_dates() -> None:
    assert seeds()["004_c1f2b0efc178133a"]["date"] == "2023-09-12"


def test_normalisation_once_at_ingest() -> None:
    a = make_article({"id": "x", "text": "\ufeffZeile eins\r\nZeile zwei\rDrei: Pesko\u0301w"}, "mem")
    assert a["text"] == "Zeile eins\nZeile zwei\nDrei: Pesk\u00f3w"  # o + combining acute -> one code point
    assert "\r" not in a["text"] and not a["text"].startswith("\ufeff")
    assert a["text"] == unicodedata.normalize("NFC", a["text"])


def test_bad_files_name_file_and_problem(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.txt: empty file"):
        list(read_articles(tmp_path / "empty.txt"))
    (tmp_path / "bin.txt").write_bytes(b"abc\x00def")
    with pytest.raises(InputError, match=r"bin\.txt: binary file \(NUL byte at offset 3\)"):
        list(read_articles(tmp_path / "bin.txt"))
    (tmp_path / "latin.txt").write_bytes("Grüße".encode("cp1252"))
    with pytest.raises(InputError, match=r"latin\.txt: not UTF-8 at byte 2"):
        list(read_articles(tmp_path / "latin.txt"))


def test_jsonl_errors_name_the_line_and_skip_bad_counts(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"id": "1", "text": "„Wir sind bereit“, sagte Peskow."}) + "\n"
                 + "{not json\n" + json.dumps({"id": "3"}) + "\n"
                 + json.dumps({"id": "4", "text": "Kein Zitat hier."}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a\.jsonl:2: not valid JSON"):
        list(read_articles(p))
    errors: list[str] = []
    arts = list(read_articles(p, skip_bad=True, errors=errors))
    assert [a["id"] for a in arts] == ["1", "4"]
    assert len(errors) == 2 and "a.jsonl:3: missing required field(s) text" in errors[1]
    assert extract_article(arts[1]) == []  # an article with no quotes gives zero records


def test_csv_articles(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text('id,text,date\n7,"Miller sagte, die USA würden genau hinsehen.",2023-09-11\n', encoding="utf-8")
    (a,) = read_articles(p)
    assert a["id"] == "7" and a["date"] == "2023-09-11"
    bad = tmp_path / "b.csv"
    bad.write_text("identifier,body\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.csv:1: CSV header must have 'id' and 'text'"):
        list(read_articles(bad))


def test_emoji_shortcut_splits_exactly_like_plain_somajo() -> None:
    """segment skips SoMaJo's per-grapheme emoji pass on emoji-free tokens; the sentences must
    match an unpatched SoMaJo, on the seeds and on text full of emoji, flags and variation
    selectors (where the pass has work to do)."""
    from toolkit.attribution.segment import _plain_somajo, _tokenizer

    assert _tokenizer()._tokenizer._split_emojis.__name__ == "split_emojis"  # the shortcut is active
    plain = _plain_somajo()
    texts = [a["text"] for a in seeds().values()] + [
        "Super 👍🏽 gemacht!Das war’s 😀😀. Nächster Satz ❤️ folgt. 🇩🇪🇺🇦 Flaggen.\n"
        "Er sagte:„Gut ☺︎ so“ – und ging 🚶\u200d♀️ weiter. Ende 1️⃣.",
        "Kein Emoji hier, nur Text: Dr. Müller sagte am 3. Okt. etwas. Dann ging er.",
    ]
    for text in texts:
        assert sentences(text) == sentences(text, tokenizer=plain)
    assert len(sentences(texts[-2])) >= 4


def test_sentences_keep_german_dates_and_abbreviations() -> None:
    text = ("Wladimir Putin ist am 11. September 2023 in Wladiwostok abgebildet. Er wird Kim treffen.\n"
            "Dr. Müller kam z. B. nicht.")
    spans = sentences(text)
    got = [text[s:e] for s, e in spans]
    assert got == ["Wladimir Putin ist am 11. September 2023 in Wladiwostok abgebildet.", "Er wird Kim treffen.",
                   "Dr. Müller kam z. B. nicht."]
    assert paragraphs(text) == [(0, text.index("\n")), (text.index("\n") + 1, len(text))]
