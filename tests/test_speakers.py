"""Speaker resolution: spellings, dated roles, pronouns, unregistered speakers, metonymy, and
registry validation. All sentences are written for these tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import InputError
from toolkit.attribution.extract import extract_article
from toolkit.attribution.speakers import load_registry, registry_from_dict, select_speakers

QUOTE = "„Wir werden darauf antworten, wenn es nötig ist.“"


def speaker_of(text: str, date: str | None = "2024-06-20", index: int = -1) -> dict:
    recs = extract_article({"id": "s", "text": text, "date": date})
    assert recs, text
    r = recs[index]
    if r["speaker_mention_start"] is not None:
        assert text[r["speaker_mention_start"]:r["speaker_mention_end"]] == r["speaker_mention"]
    if r["antecedent_start"] is not None:
        assert text[r["antecedent_start"]:r["antecedent_end"]] == r["antecedent"]
    return r


@pytest.mark.parametrize("name", ["Peskow", "Peskov", "Dimitrij Peskow", "Dmitri Peskow", "Dmitry Peskov"])
def test_peskov_spellings(name: str) -> None:
    r = speaker_of(f"{name} sagte: {QUOTE}")
    assert (r["speaker"], r["speaker_id"], r["speaker_mention"]) == ("Dmitri Peskov", "dmitri_peskov", name)


@pytest.mark.parametrize("name", ["Wladimir Putin", "Vladimir Putin"])
def test_putin_spellings(name: str) -> None:
    r = speaker_of(f"{name} sagte: {QUOTE}")
    assert r["speaker_id"] == "vladimir_putin" and r["speaker"] == "Vladimir Putin"


def test_role_valid_only_within_dates() -> None:
    text = "Der NATO-Generalsekretär sagte: „Die Allianz steht geschlossen hinter ihren Mitgliedern.“"
    assert speaker_of(text, date="2020-03-01")["speaker_id"] == "jens_stoltenberg"
    later = speaker_of(text, date="2025-03-01")
    assert later["speaker_id"] is None and later["speaker"] != "Jens Stoltenberg"
    assert later["speaker_mention"] == "Der NATO-Generalsekretär"


@pytest.mark.parametrize("mention", ["Der Kremlsprecher", "Kremlsprecher Peskow", "Der Sprecher des Kremls"])
def test_kremlsprecher_resolves_to_peskov(mention: str) -> None:
    r = speaker_of(f"{mention} sagte: „Das ist eine Provokation des Westens.“")
    assert r["speaker_id"] == "dmitri_peskov"


def test_pronoun_across_paragraphs() -> None:
    text = ("Dmitri Peskow traf am Morgen in Minsk ein.\n\n"
            "Dort sagte er: „Das ist eine Provokation des Westens.“")
    r = speaker_of(text)
    assert r["speaker_mention"] == "er" and r["attribution_method"] == "pronoun"
    assert r["speaker_id"] == "dmitri_peskov" and r["antecedent"] == "Dmitri Peskow"


def test_feminine_pronoun_does_not_take_male_antecedent() -> None:
    text = "Jens Stoltenberg traf die Ministerin in Oslo.\n\nSpäter sagte sie: „Wir sind uns einig.“"
    r = speaker_of(text, date="2020-03-01")
    assert r["speaker_id"] != "jens_stoltenberg"


def test_unregistered_named_speaker_kept_as_mention() -> None:
    r = speaker_of("Der Bürgermeister Hans Obermeier sagte: „Die Brücke wird im Mai wieder geöffnet.“")
    assert r["speaker"] == "Hans Obermeier" and r["speaker_id"] is None
    assert r["speaker_mention"] == "Der Bürgermeister Hans Obermeier" and r["attribution_method"] == "mention"


def test_unnamed_role_phrase_kept_as_written() -> None:
    r = speaker_of("Ein Sprecher der Feuerwehr sagte: „Die Brücke wird im Mai wieder geöffnet.“")
    assert r["speaker"] == "Ein Sprecher der Feuerwehr" and r["speaker_id"] is None


@pytest.mark.parametrize("subject,sid", [("Der Kreml", "kremlin"), ("Washington", "us_government"),
                                         ("Moskau", "russian_government")])
def test_organisations_and_metonymy(subject: str, sid: str) -> None:
    r = speaker_of(f"{subject} erklärte, dass die Gespräche in der kommenden Woche fortgesetzt würden.")
    assert r["speaker_id"] == sid and r["speaker_kind"] == "organisation"
    assert r["attribution_method"] == "metonymy"


def test_kim_is_not_merged_with_kim_jong_un() -> None:
    text = ("Südkoreas Vize-Außenminister Kim Hong-kyun traf am Montag in Seoul ein. "
            "„Wir beobachten die Lage sehr genau“, sagte Kim.")
    r = speaker_of(text)
    assert r["speaker"] == "Kim Hong-kyun" and r["speaker_id"] != "kim_jong_un"


def test_kim_jong_un_by_full_name() -> None:
    r = speaker_of(f"Kim Jong Un sagte: {QUOTE}")
    assert r["speaker_id"] == "kim_jong_un"


def test_default_registry_loads_and_selects() -> None:
    reg = load_registry()
    assert "dmitri_peskov" in reg.speakers
    assert select_speakers(reg, ["Peskow", "vladimir_putin"]) == {"dmitri_peskov", "vladimir_putin"}
    with pytest.raises(InputError, match="Niemand"):
        select_speakers(reg, ["Niemand"])


def _entry(**kw) -> dict:
    return {"id": "anna_muster", "name": "Anna Muster", "kind": "person", **kw}


@pytest.mark.parametrize("entry,field", [
    (_entry(kind="robot"), "kind"),
    (_entry(gender="w"), "gender"),
    (_entry(roles=[{"title": "Ministerin", "patterns": []}]), "roles.0.patterns"),
    (_entry(roles=[{"title": "Ministerin", "patterns": ["Ministerin"], "start": "gestern"}]), "roles.0.start"),
    (_entry(aliases="Anna"), "aliases"),
])
def test_invalid_registry_names_entry_and_field(entry: dict, field: str) -> None:
    with pytest.raises(InputError) as exc:
        registry_from_dict({"version": 1, "speakers": [_entry(id="ok_one", name="Ok"), entry]}, "reg.yaml")
    msg = str(exc.value)
    assert "reg.yaml" in msg and "speaker #2" in msg and "'anna_muster'" in msg and f"field {field}" in msg


def test_invalid_registry_duplicate_id_and_role_dates() -> None:
    with pytest.raises(InputError, match="duplicate id 'anna_muster'"):
        registry_from_dict({"speakers": [_entry(), _entry()]}, "reg.yaml")
    bad = _entry(roles=[{"title": "Ministerin", "patterns": ["Ministerin"], "start": "2024-05-01", "end": "2023-01-01"}])
    with pytest.raises(InputError, match="anna_muster.*Ministerin.*after"):
        registry_from_dict({"speakers": [bad]}, "reg.yaml")


def test_invalid_registry_yaml_file_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "speakers.yaml"
    p.write_text("speakers:\n  - id: a\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"speakers\.yaml:\d+: invalid YAML"):
        load_registry(p)
    with pytest.raises(InputError, match="not found"):
        load_registry(tmp_path / "missing.yaml")


def test_custom_registry_changes_resolution() -> None:
    reg = registry_from_dict({"speakers": [_entry(aliases=["Anna Muster"], short_names=["Muster"], gender="f")]})
    text = "Anna Muster kam nach Berlin. „Ich bleibe bis zum Ende der Wahlperiode im Amt“, sagte Muster."
    r = extract_article({"id": "c", "text": text}, reg)[-1]
    assert r["speaker_id"] == "anna_muster"


# --- the per-article indexes answer as the scans over all mentions did ------------------------

def _scan_pronoun(d, pos: int, pronoun: str):
    """The backward scan `Discourse.antecedent_for_pronoun` replaced by an index."""
    from toolkit.attribution.speakers import PRONOUNS

    want = PRONOUNS.get(pronoun)
    for mn in reversed(d.mentions):
        if mn.start >= pos or not mn.eligible or mn.entity is None or mn.entity.kind != "person":
            continue
        if want == "m" and mn.entity.gender not in (None, "m") or want == "f" and mn.entity.gender != "f":
            continue
        return mn
    return None


def _scan_short(d, token: str, pos: int):
    """The backward scan `Discourse.resolve_short` replaced by an index (entity key and antecedent)."""
    for mn in reversed([m for m in d.mentions if m.end <= pos and m.entity is not None]):
        ent = mn.entity
        if ent.kind != "person" or mn.method in ("pronoun", "short"):
            continue
        names = {ent.name}
        if ent.speaker_id:
            sp = d.registry.speakers[ent.speaker_id]
            names |= set(sp.aliases) | set(sp.short_names)
        if any(token == n or token in n.replace("-", " ").split() for n in names):
            return ent.key, mn
    holders = [sid for sid, sp in d.registry.speakers.items() if token in sp.short_names]
    clash = any(m.entity and m.entity.speaker_id is None and token in m.entity.name.split() for m in d.mentions)
    return (holders[0], None) if len(holders) == 1 and not clash else (None, None)


def test_discourse_indexes_agree_with_full_scans() -> None:
    """On the seeds run together (and a passage with "sie", surnames and an organisation's role),
    every pronoun, surname and "die Nachrichtenagentur" look-up at every mention position gives
    what a scan over all earlier mentions gives, and each pronoun was resolved to exactly that."""
    from toolkit import ANNOTATIONS_DIR
    from toolkit.ingest import read_articles
    from toolkit.attribution.speakers import Discourse

    extra = ("Die Sprecherin Anna Berg sagte, sie sei zufrieden. Berg fügte hinzu, er habe recht. Sie lachte. "
             "Die Nachrichtenagentur Reuters meldete das. Die Nachrichtenagentur berichtete, Kim sei in Moskau.")
    text = "\n".join([a["text"] for a in read_articles(ANNOTATIONS_DIR / "articles")] + [extra])
    import yaml

    from toolkit.attribution.speakers import DEFAULT_REGISTRY

    data = yaml.safe_load(DEFAULT_REGISTRY.read_text(encoding="utf-8"))
    data["speakers"].append({"id": "anna_berg", "name": "Anna Berg", "kind": "person", "gender": "f",
                             "short_names": ["Berg"]})
    reg = registry_from_dict(data)
    d = Discourse(text, reg, None, [(m.start(), m.end()) for m in re.finditer(r"„[^“]*“", text)])
    assert sum(mn.method == "pronoun" for mn in d.mentions) > 20 and any(mn.method == "short" for mn in d.mentions)
    for mn in d.mentions:
        if mn.method == "pronoun":
            ante = _scan_pronoun(d, mn.start, mn.text)
            assert mn.entity is (ante.entity if ante else None)
    tokens = {w for sp in reg.speakers.values() for w in sp.short_names} | {"Berg", "Anna", "Kim", "Jong"}
    positions = sorted({p for mn in d.mentions for p in (mn.start, mn.end)} | {0, len(text)})
    found = {"pronoun": 0, "short": 0, "reuters": 0}
    for pos in positions:
        for pronoun in ("er", "Sie", "es"):
            assert d.antecedent_for_pronoun(pos, pronoun) is _scan_pronoun(d, pos, pronoun)
        for token in tokens:
            ent, ante = d.resolve_short(token, pos)
            assert ((ent.key if ent else None), ante) == _scan_short(d, token, pos), (token, pos)
            found["short"] += ante is not None
        prior = [m for m in d.mentions if m.end <= pos and m.entity and m.entity.speaker_id == "reuters"]
        assert d._latest_of("reuters", pos) is (prior[-1] if prior else None)
        found["reuters"] += bool(prior)
        found["pronoun"] += d.antecedent_for_pronoun(pos, "Sie") is not None
    assert all(found.values()), found  # each look-up had something to find


def _role_matches_both_ways(text: str) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    """`role_then_name` against `ROLE_THEN_NAME.finditer`: the same matches, spans and names."""
    from toolkit.attribution.speakers import role_then_name
    from toolkit.lexicon.active import LEX

    def key(m: re.Match[str]) -> tuple[tuple[int, int], tuple[int, int], str]:
        return m.span(), m.span("name"), m.group("name")

    plain = [key(m) for m in LEX.ROLE_THEN_NAME.finditer(text)]
    assert [key(m) for m in role_then_name(text)] == plain, text
    return plain


ROLE_PROBES = [
    "Außenminister Sergej Lawrow sagte", "Ex-Minister Hans Meier", "Vize-Außenministerin Kim Hong-kyun",
    "Premierministerin Theresa May", "Premier Li Keqiang", "Regierungssprecher Steffen Seibert",
    "Ministerium Berlin", "Minister-Präsident Armin Laschet", "-Minister Paul", "Ministerpräsidenten ABC Def",
    "die Vorsitzenden Anna Berg und Kollegen Max Muster", "UN-Generalsekretär António Guterres",
    "Sprecherin\tAnna Lena Maria Schmidt", "xMinister Paul", "Minister_Paul Klee", "Minister  Paul", "MinisterPaul",
    "Generalsekretär Jens Stoltenberg-Nato", "Bürgermeisterin Franziska Giffey,", "Experte Dr. Klaus",
]


def test_role_then_name_matches_the_pattern_on_real_text() -> None:
    """The shortcut finds exactly the pattern's matches over the seed articles, SpkAtt (when present),
    generated articles and probes (role nouns inside words, after "-", at a match's end)."""
    import json
    import sys

    from toolkit import ANNOTATIONS_DIR
    from toolkit.ingest import read_articles

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "scripts"))
    import make_corpus

    texts = [a["text"] for a in read_articles(ANNOTATIONS_DIR / "articles")]
    texts += [a["text"] for a in make_corpus.articles(300, seed=5)]
    spkatt = root.parent / "shared" / "spkatt-news" / "train.jsonl"
    if spkatt.exists():
        texts += [json.loads(line)["text"] for line in spkatt.open(encoding="utf-8")]
    texts += ROLE_PROBES + [" ".join(ROLE_PROBES), "".join(ROLE_PROBES)]
    assert sum(len(_role_matches_both_ways(t)) for t in texts) > 100


_ROLE_WORDS = ["Minister", "minister", "Außenminister", "Ministerin", "Sprecher", "Premier", "Premierminister",
               "Vorsitzender", "Kollegen", "Ex-", "-", "Paul", "Anna-Lena", "Müller", "Ödön", "ABC", "und", "die",
               " ", "  ", "\n", ",", ".", "_", "1", "é", "Éva", "Hong-kyun", "Generalsekretär", "in"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_ROLE_WORDS), st.text(max_size=2)), max_size=14),
       st.sampled_from(["", " "]))
def test_role_then_name_matches_the_pattern_on_generated_text(parts: list[str], sep: str) -> None:
    """The same on Hypothesis text of role nouns, names, hyphens and other characters, joined with
    and without spaces (runs of word characters that hold several role nouns)."""
    _role_matches_both_ways(sep.join(parts))


def test_role_candidate_is_none_for_entries_it_cannot_vouch_for(tmp_path: Path) -> None:
    """A role noun that is not a plain run of letters (an escape, a wildcard, a lone letter) turns
    the shortcut off; the plain pattern then runs, with the same matches."""
    from toolkit.lexicon.active import LEX, using_lexicon

    assert LEX.ROLE_CANDIDATE is not None
    for entry in ("Chef\\w*", "Ober.", "X", "[Xx]", "Leiter|Chef"):
        extra = tmp_path / "roles.yaml"
        extra.write_text(f"lists:\n  role_nouns:\n    entries:\n      - '{entry}'\n", encoding="utf-8")
        with using_lexicon([extra]) as lex:
            assert lex.ROLE_CANDIDATE is None, entry
            _role_matches_both_ways("Oberx Paul Klee und Chefin Anna Berg, X Max Muster")
    assert LEX.ROLE_CANDIDATE is not None


def _registry_matches_both_ways(registry: object, text: str) -> int:
    """The registry's scan (keys by first character) against the plain longest-first alternation."""
    keys = sorted(registry._lookup, key=len, reverse=True)  # type: ignore[attr-defined]
    alt = "|".join(re.escape(k) for k in keys)
    plain = re.compile(rf"(?<![\wÄÖÜäöüß-])(?:{alt})(?:s|es|n)?(?![\wÄÖÜäöüß])")
    found = [m.span() for m in registry._matcher.finditer(text)]  # type: ignore[attr-defined]
    assert found == [m.span() for m in plain.finditer(text)], text
    return len(found)


def test_registry_scan_matches_the_plain_alternation_on_real_text() -> None:
    """The bundled registry over the seed articles, SpkAtt (when present) and generated articles."""
    import json
    import sys

    from toolkit import ANNOTATIONS_DIR
    from toolkit.ingest import read_articles

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "scripts"))
    import make_corpus

    registry = load_registry(None)
    texts = [a["text"] for a in read_articles(ANNOTATIONS_DIR / "articles")]
    texts += [a["text"] for a in make_corpus.articles(200, seed=3)]
    spkatt = root.parent / "shared" / "spkatt-news" / "train.jsonl"
    if spkatt.exists():
        texts += [json.loads(line)["text"] for line in spkatt.open(encoding="utf-8")]
    assert sum(_registry_matches_both_ways(registry, t) for t in texts) > 100


_REG_WORDS = ["Putin", "Putins", "Wladimir Putin", "Wladimir", "Kreml", "Kremls", "Merkel", "Angela Merkel", "Ex-",
              "-", "Pu", "P", "tin", "Putinen", "es", "n", "s", " ", "_", "é", "Xi", "Xi Jinping", "Jinping", "1"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_REG_WORDS), st.text(max_size=2)), max_size=12), st.sampled_from(["", " "]))
def test_registry_scan_matches_the_plain_alternation(parts: list[str], sep: str) -> None:
    """The same on Hypothesis text, with a registry of names that are prefixes of one another."""
    registry = registry_from_dict({"speakers": [
        {"id": "putin", "name": "Wladimir Putin", "kind": "person", "aliases": ["Putin", "P", "Pu"]},
        {"id": "kreml", "name": "Kreml", "kind": "organisation"},
        {"id": "xi", "name": "Xi Jinping", "kind": "person", "short_names": ["Xi"]}]})
    _registry_matches_both_ways(registry, sep.join(parts))
