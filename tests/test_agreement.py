"""Agreement, adjudication and speaker-review feedback on small tables with known answers.

Reference values come from worked examples outside this code base:
- Cohen's kappa 0.4: Wikipedia "Cohen's kappa", 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15.
- Krippendorff's alpha 0.743: Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability",
  nominal example with 4 coders, 12 units and missing values.
- Fleiss' kappa 0.210: Wikipedia "Fleiss' kappa", 10 subjects, 14 raters, 5 categories.
and from hand calculations written out next to each assertion.
"""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from toolkit import agreement as ag
from toolkit.cli import agreement as agcmd
from toolkit.errors import InputError


def rows_from_pairs(pairs, a="A", b="B"):
    rows = []
    for i, (x, y) in enumerate(pairs):
        rows.append({"quote_id": f"q{i}", "annotator": a, "stance": x})
        rows.append({"quote_id": f"q{i}", "annotator": b, "stance": y})
    return pd.DataFrame(rows)


WIKI_COHEN = ([("favor", "favor")] * 20 + [("favor", "against")] * 5
              + [("against", "favor")] * 10 + [("against", "against")] * 15)


def hand_alpha_nominal(units: list[list[str]]) -> float:
    """Independent nominal alpha via the coincidence matrix (Krippendorff 2011, section C)."""
    o = Counter()
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, c in enumerate(values):
            for j, k in enumerate(values):
                if i != j:
                    o[(c, k)] += 1 / (m - 1)
    n_c = Counter()
    for (c, _k), v in o.items():
        n_c[c] += v
    n = sum(n_c.values())
    d_o = sum(v for (c, k), v in o.items() if c != k)
    d_e = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    return 1 - (n - 1) * d_o / d_e


# --------------------------------------------------------------------------- agreement figures

def test_cohen_alpha_fleiss_on_wikipedia_cohen_example():
    res = ag.compute_agreement(rows_from_pairs(WIKI_COHEN))
    # Cohen: p_o = 35/50 = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5 -> (0.7-0.5)/(1-0.5) = 0.4
    (pair,) = res["cohen_kappa_pairs"]
    assert pair["value"] == pytest.approx(0.4)
    assert pair["n_items"] == 50 and pair["observed_agreement"] == pytest.approx(0.7)
    # alpha: n=100 values, favor 55 / against 45, 15 disagreeing units -> 30 off-diagonal coincidences
    # 1 - 99*30 / (2*55*45) = 1 - 2970/4950 = 0.4
    assert res["krippendorff_alpha"]["value"] == pytest.approx(1 - 99 * 30 / (2 * 55 * 45))
    assert res["krippendorff_alpha"]["n_items"] == 50
    # Fleiss with 2 raters: P_bar = 0.7, P_e = 0.55^2 + 0.45^2 = 0.505 -> 0.195/0.495
    assert res["fleiss_kappa"]["value"] == pytest.approx(0.195 / 0.495)
    assert res["fleiss_kappa"]["raters_per_item"] == 2
    assert res["percent_agreement"]["value"] == pytest.approx(0.7)
    # with only two labels in use, each one-vs-rest alpha equals the overall alpha
    assert res["per_label_alpha"]["favor"]["value"] == pytest.approx(0.4)
    assert res["per_label_alpha"]["against"]["value"] == pytest.approx(0.4)
    assert res["per_label_alpha"]["neutral"]["value"] is None
    assert "never chosen" in res["per_label_alpha"]["neutral"]["reason"]
    assert res["mean_cohen_kappa"] == {"value": pytest.approx(0.4), "reason": None, "n_pairs": 1,
                                       "n_pairs_undefined": 0}


KRIPP_2011 = {  # coder -> values of units 1..12 (None = missing), Krippendorff 2011 nominal example
    "A": ["1", "2", "3", "3", "2", "1", "4", "1", "2", None, None, None],
    "B": ["1", "2", "3", "3", "2", "2", "4", "1", "2", "5", None, "3"],
    "C": [None, "3", "3", "3", "2", "3", "4", "2", "2", "5", "1", None],
    "D": ["1", "2", "3", "3", "2", "4", "4", "1", "2", "5", "1", None],
}


def test_krippendorff_textbook_example_with_missing_values_and_single_coder_unit():
    rows = [{"quote_id": f"u{j + 1:02d}", "annotator": coder, "stance": v}
            for coder, values in KRIPP_2011.items() for j, v in enumerate(values) if v is not None]
    res = ag.compute_agreement(pd.DataFrame(rows), labels=("1", "2", "3", "4", "5"))
    assert round(res["krippendorff_alpha"]["value"], 3) == 0.743
    # unit 12 has a single value (coder B): excluded from agreement and counted
    assert res["single_annotator_items_excluded"] == 1
    assert res["items_used"] == 11 and res["krippendorff_alpha"]["n_items"] == 11
    units = [[KRIPP_2011[c][j] for c in KRIPP_2011 if KRIPP_2011[c][j] is not None] for j in range(12)]
    assert res["krippendorff_alpha"]["value"] == pytest.approx(hand_alpha_nominal(units))
    # one-vs-rest for "2" checked against the independent coincidence computation
    binary = [["2" if v == "2" else "rest" for v in u] for u in units]
    assert res["per_label_alpha"]["2"]["value"] == pytest.approx(hand_alpha_nominal(binary))
    # Fleiss needs equal rater counts: units 2-9 (4 coders) are used; units 1, 10 (3 coders)
    # and 11 (2 coders) are left out and counted
    assert res["fleiss_kappa"]["raters_per_item"] == 4
    assert res["fleiss_kappa"]["n_items"] == 8
    assert res["fleiss_kappa"]["items_excluded_other_rater_count"] == 3


FLEISS_WIKI = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
               [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def test_fleiss_kappa_wikipedia_example():
    cats = ("a", "b", "c", "d", "e")
    rows = []
    for i, counts in enumerate(FLEISS_WIKI):
        raters = iter(range(14))
        for cat, n in zip(cats, counts):
            for _ in range(n):
                rows.append({"quote_id": f"s{i}", "annotator": f"r{next(raters)}", "stance": cat})
    res = ag.compute_agreement(pd.DataFrame(rows), labels=cats)
    assert round(res["fleiss_kappa"]["value"], 3) == 0.210
    assert res["fleiss_kappa"]["n_items"] == 10 and res["fleiss_kappa"]["raters_per_item"] == 14
    assert len(res["cohen_kappa_pairs"]) == 91  # 14 choose 2


def test_three_annotators_per_label_alpha_against_hand_computation():
    table = {
        "q1": {"A": "favor", "B": "favor", "C": "favor"},
        "q2": {"A": "against", "B": "against", "C": "neutral"},
        "q3": {"A": "neutral", "B": "neutral", "C": "neutral"},
        "q4": {"A": "favor", "B": "unclear", "C": "favor"},
        "q5": {"A": "against", "B": "against", "C": "against"},
    }
    df = pd.DataFrame([{"quote_id": q, "annotator": a, "stance": s} for q, v in table.items() for a, s in v.items()])
    res = ag.compute_agreement(df)
    units = [list(v.values()) for v in table.values()]
    assert res["krippendorff_alpha"]["value"] == pytest.approx(hand_alpha_nominal(units))
    for lab in ag.STANCE_LABELS:
        binary = [[x == lab for x in u] for u in units]
        assert res["per_label_alpha"][lab]["value"] == pytest.approx(hand_alpha_nominal(binary))
    # A vs B: agree on q1,q2,q3,q5 -> p_o = 0.8; marginals A f2 a2 n1, B f1 a2 n1 u1
    # p_e = (2*1 + 2*2 + 1*1 + 0*1)/25 = 7/25 -> kappa = (0.8-0.28)/(0.72)
    ab = next(p for p in res["cohen_kappa_pairs"] if (p["annotator_a"], p["annotator_b"]) == ("A", "B"))
    assert ab["value"] == pytest.approx((0.8 - 7 / 25) / (1 - 7 / 25))
    assert len(res["cohen_kappa_pairs"]) == 3


# --------------------------------------------------------------------------- exclusions and degenerate cases

def test_cancelled_annotations_are_excluded_and_counted():
    base = rows_from_pairs(WIKI_COHEN)
    noise = pd.DataFrame([{"quote_id": f"q{i}", "annotator": "C", "stance": "neutral", "was_cancelled": True}
                          for i in range(10)]
                         + [{"quote_id": "q0", "annotator": "A", "stance": "against", "was_cancelled": "true"}])
    res = ag.compute_agreement(pd.concat([base, noise], ignore_index=True))
    assert res["cancelled_excluded"] == 11
    assert res["krippendorff_alpha"]["value"] == pytest.approx(0.4)
    assert res["annotators"] == ["A", "B"]


def test_single_annotator_items_are_counted_not_used():
    df = pd.concat([rows_from_pairs(WIKI_COHEN),
                    pd.DataFrame([{"quote_id": f"solo{i}", "annotator": "A", "stance": "neutral"} for i in range(7)])],
                   ignore_index=True)
    res = ag.compute_agreement(df)
    assert res["single_annotator_items_excluded"] == 7
    assert res["items_labelled"] == 57 and res["items_used"] == 50
    assert res["krippendorff_alpha"]["value"] == pytest.approx(0.4)


def test_only_one_annotator_gives_undefined_figures_with_reasons():
    df = pd.DataFrame([{"quote_id": f"q{i}", "annotator": "A", "stance": s}
                       for i, s in enumerate(["favor", "against", "neutral"])])
    res = ag.compute_agreement(df)
    assert res["items_used"] == 0 and res["single_annotator_items_excluded"] == 3
    for key in ("krippendorff_alpha", "fleiss_kappa", "mean_cohen_kappa", "percent_agreement"):
        assert res[key]["value"] is None
        assert "two or more annotators" in res[key]["reason"] or "no annotator pair" in res[key]["reason"]
    assert res["cohen_kappa_pairs"] == []
    json.dumps(res)  # serialisable, no NaN


def test_identical_labels_give_undefined_alpha_and_kappa_not_one():
    df = rows_from_pairs([("favor", "favor")] * 6)
    res = ag.compute_agreement(df)
    assert res["krippendorff_alpha"]["value"] is None
    assert "identical" in res["krippendorff_alpha"]["reason"]
    assert res["fleiss_kappa"]["value"] is None
    assert res["cohen_kappa_pairs"][0]["value"] is None
    assert "undefined" in res["cohen_kappa_pairs"][0]["reason"]
    assert res["per_label_alpha"]["favor"]["value"] is None
    assert "always" in res["per_label_alpha"]["favor"]["reason"]
    # observed agreement is defined and honest: every pair agrees
    assert res["percent_agreement"]["value"] == 1.0
    assert "NaN" not in json.dumps(res)


def test_duplicate_submissions_count_once_latest_wins():
    df = pd.DataFrame([
        {"quote_id": "q1", "annotator": "A", "stance": "against", "updated_at": "2024-06-01T10:00:00Z"},
        {"quote_id": "q1", "annotator": "A", "stance": "favor", "updated_at": "2024-06-02T10:00:00Z"},
        {"quote_id": "q1", "annotator": "B", "stance": "favor", "updated_at": "2024-06-01T10:00:00Z"},
    ])
    res = ag.compute_agreement(df)
    assert res["superseded_duplicates_excluded"] == 1
    adj = ag.adjudicate(df)
    assert adj.loc[0, "resolution"] == "unanimous" and adj.loc[0, "n_annotators"] == 2


def test_speaker_review_agreement():
    df = pd.DataFrame([
        {"quote_id": "q1", "annotator": "A", "stance": "favor", "speaker_review": "confirmed"},
        {"quote_id": "q1", "annotator": "B", "stance": "favor", "speaker_review": "confirmed"},
        {"quote_id": "q2", "annotator": "A", "stance": "against", "speaker_review": "corrected"},
        {"quote_id": "q2", "annotator": "B", "stance": "against", "speaker_review": "confirmed"},
        {"quote_id": "q3", "annotator": "A", "stance": None, "speaker_review": "not_a_quote"},
        {"quote_id": "q3", "annotator": "B", "stance": None, "speaker_review": "not_a_quote"},
    ])
    res = ag.compute_agreement(df, field="speaker_review")
    assert res["items_used"] == 3
    # A: confirmed corrected not_a_quote / B: confirmed confirmed not_a_quote -> p_o = 2/3
    # p_e = (1*2 + 1*0 + 1*1)/9 = 1/3 -> kappa = (2/3 - 1/3)/(2/3) = 0.5
    assert res["cohen_kappa_pairs"][0]["value"] == pytest.approx(0.5)
    units = [["confirmed", "confirmed"], ["corrected", "confirmed"], ["not_a_quote", "not_a_quote"]]
    assert res["krippendorff_alpha"]["value"] == pytest.approx(hand_alpha_nominal(units))
    # stance figures only rest on the two quotes with stance labels
    assert ag.compute_agreement(df)["items_used"] == 2


# --------------------------------------------------------------------------- adjudication

def ann(q, a, s, **kw):
    return {"quote_id": q, "annotator": a, "stance": s, **kw}


def test_adjudication_paths():
    df = pd.DataFrame([
        ann("unan", "A", "favor"), ann("unan", "B", "favor"), ann("unan", "ADJ", "against"),
        ann("maj", "A", "against"), ann("maj", "B", "against"), ann("maj", "C", "neutral"),
        ann("tie", "A", "favor"), ann("tie", "B", "against"), ann("tie", "ADJ", "against"),
        ann("tie_noadj", "A", "favor"), ann("tie_noadj", "B", "neutral"),
        ann("half", "A", "favor"), ann("half", "B", "favor"), ann("half", "C", "against"), ann("half", "D", "neutral"),
        ann("gt", "A", "favor"), ann("gt", "B", "unclear", is_ground_truth=True),
        ann("gt_conflict", "A", "favor", is_ground_truth=True), ann("gt_conflict", "B", "against", is_ground_truth=True),
        ann("cancelled", "A", "favor", was_cancelled=True),
    ])
    adj = ag.adjudicate(df, adjudicator="ADJ").set_index("quote_id")
    assert list(adj.index) == ["unan", "maj", "tie", "tie_noadj", "half", "gt", "gt_conflict", "cancelled"]
    # the adjudicator does not vote: A+B unanimous although ADJ said against
    assert (adj.loc["unan", "label"], adj.loc["unan", "resolution"]) == ("favor", "unanimous")
    assert adj.loc["unan", "n_annotators"] == 2 and adj.loc["unan", "item_agreement"] == 1.0
    assert adj.loc["unan", "annotator_labels"] == {"A": "favor", "B": "favor", "ADJ": "against"}
    assert (adj.loc["maj", "label"], adj.loc["maj", "resolution"]) == ("against", "majority")
    assert adj.loc["maj", "item_agreement"] == pytest.approx(2 / 3)
    assert (adj.loc["tie", "label"], adj.loc["tie", "resolution"]) == ("against", "adjudicator")
    assert adj.loc["tie", "item_agreement"] == 0.5
    # no adjudicator annotation on this quote, no ground truth: stays unresolved and says why
    assert adj.loc["tie_noadj", "label"] is None and adj.loc["tie_noadj", "resolution"] == "unresolved"
    assert "no majority (favor 1, neutral 1)" in adj.loc["tie_noadj", "unresolved_reason"]
    # 2 of 4 is exactly half, not a majority
    assert adj.loc["half", "resolution"] == "unresolved"
    assert (adj.loc["gt", "label"], adj.loc["gt", "resolution"]) == ("unclear", "ground_truth")
    assert adj.loc["gt_conflict", "resolution"] == "unresolved"
    assert "ground-truth annotations disagree" in adj.loc["gt_conflict", "unresolved_reason"]
    # a quote whose only annotation was cancelled is kept, unlabelled
    assert adj.loc["cancelled", "label"] is None and adj.loc["cancelled", "n_annotators"] == 0
    assert "adjudicator: ADJ" in adj.attrs["rule"]
    summary = ag.adjudication_summary(adj.reset_index())
    assert summary["resolution_counts"] == {"unanimous": 1, "majority": 1, "adjudicator": 1,
                                            "ground_truth": 1, "unresolved": 4}
    assert {u["quote_id"] for u in summary["unresolved"]} == {"tie_noadj", "half", "gt_conflict", "cancelled"}


def test_tie_without_adjudicator_stays_unresolved_and_rule_order_is_respected():
    df = pd.DataFrame([ann("q", "A", "favor"), ann("q", "B", "against", is_ground_truth=True),
                       ann("q", "C", "against")])
    assert ag.adjudicate(df).loc[0, "resolution"] == "majority"
    gt_first = ag.adjudicate(df, rule="ground_truth > majority")
    assert gt_first.loc[0, "resolution"] == "ground_truth"
    tie = pd.DataFrame([ann("q", "A", "favor"), ann("q", "B", "against")])
    out = ag.adjudicate(tie)
    assert out.loc[0, "label"] is None and out.loc[0, "resolution"] == "unresolved"
    with pytest.raises(InputError, match="unknown step"):
        ag.adjudicate(df, rule="unanimous > coin_flip")


def test_min_annotators_and_single_annotator_labels():
    df = pd.DataFrame([ann("solo", "A", "neutral"), ann("pair", "A", "favor"), ann("pair", "B", "favor")])
    loose = ag.adjudicate(df).set_index("quote_id")
    assert (loose.loc["solo", "label"], loose.loc["solo", "n_annotators"]) == ("neutral", 1)
    assert ag.adjudication_summary(loose.reset_index())["resolved_from_single_annotator"] == 1
    strict = ag.adjudicate(df, min_annotators=2).set_index("quote_id")
    assert strict.loc["solo", "label"] is None
    assert "only 1 annotator(s), 2 required" in strict.loc["solo", "unresolved_reason"]
    assert strict.loc["pair", "label"] == "favor"


def test_unknown_adjudicator_is_an_error():
    df = pd.DataFrame([ann("q", "A", "favor"), ann("q", "B", "against")])
    with pytest.raises(InputError, match="adjudicator 'Z' has no annotation"):
        ag.adjudicate(df, adjudicator="Z")


def test_speaker_decisions_in_adjudication():
    df = pd.DataFrame([
        ann("q1", "A", "against", speaker_review="corrected", speaker_corrected="Matthew Miller"),
        ann("q1", "B", "against", speaker_review="corrected", speaker_corrected=" Matthew  Miller "),
        ann("q1", "C", "against", speaker_review="confirmed"),
        ann("q2", "A", None, speaker_review="not_a_quote"),
        ann("q2", "B", None, speaker_review="not_a_quote"),
        ann("q3", "A", "favor", speaker_review="corrected", speaker_corrected="Dmitri Peskow"),
        ann("q3", "B", "favor", speaker_review="corrected", speaker_corrected="Wladimir Putin"),
        ann("q4", "A", "favor", speaker_review="confirmed"),
    ])
    adj = ag.adjudicate(df).set_index("quote_id")
    assert adj.loc["q1", "speaker_final"] == "Matthew Miller" and adj.loc["q1", "speaker_corrected"]
    assert adj.loc["q1", "speaker_resolution"] == "majority"
    assert adj.loc["q2", "not_a_quote"] and adj.loc["q2", "label"] is None
    # both say "wrong speaker" but name different people: correction requested, no agreed name
    assert adj.loc["q3", "speaker_review"] == "corrected" and not adj.loc["q3", "speaker_corrected"]
    assert adj.loc["q3", "speaker_final"] is None
    assert "no corrected name" in adj.loc["q3", "speaker_unresolved_reason"]
    acc = ag.attribution_accuracy(adj.reset_index())
    assert (acc["confirmed"], acc["corrected"], acc["not_a_quote"]) == (1, 2, 1)
    assert acc["attribution_accuracy"]["value"] == pytest.approx(1 / 3)
    assert acc["attribution_accuracy"]["n_items"] == 3
    assert acc["quote_precision"]["value"] == pytest.approx(3 / 4)


def test_apply_speaker_review_feeds_corrections_back():
    quotes = pd.DataFrame([
        {"quote_id": "q1", "speaker": "Antony Blinken", "speaker_id": "blinken", "text": "a"},
        {"quote_id": "q2", "speaker": "Jens Stoltenberg", "speaker_id": "stoltenberg", "text": "b"},
        {"quote_id": "q3", "speaker": "Dmitri Peskow", "speaker_id": "peskov", "text": "c"},
        {"quote_id": "q4", "speaker": "Wladimir Putin", "speaker_id": "putin", "text": "d"},
        {"quote_id": "q5", "speaker": None, "speaker_id": None, "text": "e"},
    ])
    df = pd.DataFrame([
        ann("q1", "A", "against", speaker_review="corrected", speaker_corrected="Matthew Miller"),
        ann("q2", "A", None, speaker_review="not_a_quote"),
        ann("q3", "A", "favor", speaker_review="confirmed"),
        ann("q4", "A", "favor", speaker_review="corrected"),
        ann("q9", "A", "favor", speaker_review="confirmed"),
    ])
    adj = ag.adjudicate(df)
    out = ag.apply_speaker_review(quotes, adj).set_index("quote_id")
    assert list(out.index) == ["q1", "q3", "q4", "q5"]  # q2 (not a quote) dropped
    assert out.loc["q1", "speaker"] == "Matthew Miller"
    assert out.loc["q1", "speaker_extracted"] == "Antony Blinken"
    assert out.loc["q1", "speaker_id"] is None and out.loc["q1", "speaker_id_extracted"] == "blinken"
    assert out.loc["q3", "speaker"] == "Dmitri Peskow" and out.loc["q3", "speaker_id"] == "peskov"
    assert out.loc["q4", "speaker"] is None and out.loc["q4", "speaker_extracted"] == "Wladimir Putin"
    assert out.loc["q5", "speaker_review"] is None
    stats = out.attrs["speaker_review"]
    assert stats == {"quotes_in": 5, "reviewed": 4, "confirmed": 1, "corrected": 2, "corrected_without_name": 1,
                     "not_a_quote": 1, "not_a_quote_dropped": 1, "reviews_without_quote": 1, "quotes_out": 4}
    kept = ag.apply_speaker_review(quotes, adj, drop_not_a_quote=False).set_index("quote_id")
    assert kept.loc["q2", "not_a_quote"] and len(kept) == 5
    assert quotes.loc[0, "speaker"] == "Antony Blinken"  # input untouched


# --------------------------------------------------------------------------- bad input

def test_missing_column_is_a_clear_error():
    with pytest.raises(InputError, match=r"ann.csv: missing required column\(s\) annotator"):
        ag.compute_agreement(pd.DataFrame([{"quote_id": "q", "stance": "favor"}]), source="ann.csv")


def test_unknown_label_names_row_quote_and_value():
    df = pd.DataFrame([ann("q1", "A", "favor"), ann("q1", "B", "pro")])
    with pytest.raises(InputError, match=r"row 2 \(quote_id 'q1', annotator 'B'\): unknown stance 'pro'"):
        ag.adjudicate(df)
    bad_review = pd.DataFrame([ann("q1", "A", "favor", speaker_review="wrong")])
    with pytest.raises(InputError, match="unknown speaker_review 'wrong'"):
        ag.compute_agreement(bad_review)
    bad_bool = pd.DataFrame([ann("q1", "A", "favor", was_cancelled="maybe")])
    with pytest.raises(InputError, match="was_cancelled must be true/false"):
        ag.compute_agreement(bad_bool)


def test_mixed_targets_are_refused():
    df = pd.DataFrame([ann("q1", "A", "favor", target="X"), ann("q1", "B", "favor", target="Y")])
    with pytest.raises(InputError, match="mix 2 targets"):
        ag.adjudicate(df)


def test_disagreement_report_lists_every_label():
    df = pd.DataFrame([
        ann("q1", "A", "favor"), ann("q1", "B", "favor"),
        ann("q2", "A", "favor", comment="Ironie?"), ann("q2", "B", "against"), ann("q2", "C", "favor"),
        ann("q3", "A", "neutral", speaker_review="confirmed"),
        ann("q3", "B", "neutral", speaker_review="corrected", speaker_corrected="Shin Won-sik"),
    ])
    adj = ag.adjudicate(df)
    rep = ag.disagreement_report(df, adj).set_index("quote_id")
    assert list(rep.index) == ["q2", "q3"]
    assert rep.loc["q2", "contested_on"] == "stance" and rep.loc["q3", "contested_on"] == "speaker"
    assert [rep.loc["q2", f"stance[{a}]"] for a in "ABC"] == ["favor", "against", "favor"]
    assert rep.loc["q2", "gold_label"] == "favor" and rep.loc["q2", "resolution"] == "majority"
    assert rep.loc["q3", "speaker[B]"] == "corrected: Shin Won-sik"
    md = ag.disagreements_markdown(rep.reset_index(), adj.attrs["rule"])
    assert "| q2 | stance | A=favor; B=against; C=favor |" in md and "A: Ironie?" in md
    assert "unanimous > majority" in md


# --------------------------------------------------------------------------- CLI

def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test shell."""

    agcmd.register(app)
    return app


def test_cli_writes_all_outputs(tmp_path):
    rows = [dict(r, was_cancelled=False, is_ground_truth=False) for r in rows_from_pairs(WIKI_COHEN).to_dict("records")]
    rows.append(ann("q0", "L", "against", was_cancelled=False, is_ground_truth=False))
    src = tmp_path / "ann.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(_app(), ["agreement", str(src), "--out", str(out), "--adjudicator", "L"])
    assert res.exit_code == 0, res.output
    assert "Krippendorff" in res.output and "0.400" in res.output
    figures = json.loads((out / "agreement.json").read_text())
    assert figures["stance"]["krippendorff_alpha"]["value"] == pytest.approx(0.4)
    assert figures["stance"]["adjudicator_annotations_excluded"] == 1
    assert figures["adjudication"]["adjudicator"] == "L"
    assert figures["adjudication"]["resolution_counts"]["unresolved"] == 15  # 15 ties, L only rated q0 (unanimous)
    # 15 ties + q0, where the adjudicator's "against" contradicts the two annotators' "favor"
    assert figures["contested_quotes"] == 16
    jl = [json.loads(line) for line in (out / "adjudicated.jsonl").read_text().splitlines()]
    pq = ag.load_adjudicated(pd.read_parquet(out / "adjudicated.parquet"))
    assert len(jl) == len(pq) == 50
    assert pq["annotator_labels"].tolist() == [r["annotator_labels"] for r in jl]
    assert pd.read_csv(out / "disagreements.csv").shape[0] == 16
    assert (out / "disagreements.md").read_text().count("\n| q") - 1 == 16  # minus the header row


def test_cli_bad_input_raises_input_error(tmp_path):
    src = tmp_path / "ann.csv"
    src.write_text("quote_id,stance\nq1,favor\n", encoding="utf-8")
    res = CliRunner().invoke(_app(), ["agreement", str(src), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, InputError)
    assert "ann.csv: missing required column(s) annotator" in str(res.exception)
    assert not (tmp_path / "o" / "agreement.json").exists()


def test_cli_csv_input_with_quotes_applies_speaker_review(tmp_path):
    # CSV as exported by hand: integer annotator ids, empty cells, booleans as text
    src = tmp_path / "ann.csv"
    src.write_text(
        "quote_id,annotator,stance,speaker_review,speaker_corrected,was_cancelled,is_ground_truth\n"
        "q1,7,against,corrected,Matthew Miller,False,False\n"
        "q1,9,against,corrected,Matthew Miller,False,False\n"
        "q2,7,,not_a_quote,,False,False\n"
        "q2,9,neutral,not_a_quote,,True,False\n"
        "q3,7,favor,confirmed,,False,False\n"
        "q3,9,neutral,confirmed,,False,True\n", encoding="utf-8")
    quotes = tmp_path / "quotes.jsonl"
    quotes.write_text("\n".join(json.dumps(q) for q in [
        {"quote_id": "q1", "speaker": "Antony Blinken", "speaker_id": "blinken", "flags": []},
        {"quote_id": "q2", "speaker": "Wladimir Putin", "speaker_id": "putin", "flags": ["unbalanced_quote"]},
        {"quote_id": "q3", "speaker": "Dmitri Peskow", "speaker_id": "peskov", "flags": []},
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(_app(), ["agreement", str(src), "--out", str(out), "--quotes", str(quotes)])
    assert res.exit_code == 0, res.output
    figures = json.loads((out / "agreement.json").read_text())
    assert figures["stance"]["annotators"] == ["7", "9"]
    assert figures["stance"]["cancelled_excluded"] == 1
    assert figures["adjudication"]["resolution_counts"]["ground_truth"] == 1  # q3: tie, 9's GT decides
    assert figures["attribution"]["attribution_accuracy"]["value"] == pytest.approx(0.5)
    assert figures["speaker_review_applied"]["not_a_quote_dropped"] == 1
    reviewed = [json.loads(line) for line in (out / "quotes_reviewed.jsonl").read_text().splitlines()]
    assert [(q["quote_id"], q["speaker"], q["speaker_extracted"]) for q in reviewed] == [
        ("q1", "Matthew Miller", "Antony Blinken"), ("q3", "Dmitri Peskow", "Dmitri Peskow")]
    assert pd.read_parquet(out / "quotes_reviewed.parquet").shape[0] == 2


def test_kappa_copies_give_the_libraries_floats():
    """toolkit.agreement's Cohen/Fleiss copies (kept to skip importing sklearn/scipy) must give the
    very floats scikit-learn and statsmodels give, or agreement.json would change."""
    import numpy as np
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa

    rng = np.random.default_rng(7)
    labels = list(ag.STANCE_LABELS)
    for n in (5, 37, 1000):
        a = rng.choice(labels, n).tolist()
        b = [x if rng.random() < 0.6 else str(rng.choice(labels)) for x in a]
        assert ag.cohen_kappa_score(a, b, labels) == float(cohen_kappa_score(a, b, labels=labels))
        for k in (2, 3, 5):
            table = np.zeros((n, len(labels)))
            for row in range(n):
                for lab in rng.integers(0, len(labels), k):
                    table[row, lab] += 1
            assert ag.fleiss_kappa(table) == float(fleiss_kappa(table, method="fleiss"))
