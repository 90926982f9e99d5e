"""Benchmark the quote extractor on SpkAtt-2023 Task 2 (German Wikinews speaker attribution).

Reads ../shared/spkatt-news/train.jsonl (beside the repository; CC BY-NC-SA 4.0, never copied
into the repository), runs toolkit.attribution.extract.extract_article on every article and scores the
records twice: with the official Task 2 simplified metric (toolkit.attribution.spkatt: Message, Source and
joint F1, macro over Hungarian-matched events, all top-level events, token partial credit), and
with the span-overlap rule the team targets are stated in (issue 2: top-level direct, indirect and
indirect_free_indirect events; a match shares >= 50% of each event's characters; joint also needs
the source mention in >= 50% mutual overlap, or no source on both sides).

Usage:
    .venv/bin/python scripts/eval_spkatt.py [--data PATH] [--limit N] [--errors /tmp/spkatt_errors.jsonl]

Exit code 0 also when the data is absent (the benchmark is skipped with a message), 1 when the
team targets (Message F1 >= 0.75, joint F1 >= 0.65) are missed and --check is given.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from toolkit.attribution import spkatt as sp  # noqa: E402
from toolkit.fileio import read_jsonl, write_json, write_jsonl  # noqa: E402
from toolkit.ingest import make_article  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "spkatt-news" / "train.jsonl"
DEFAULT_FOLDS = REPO / "scripts" / "spkatt_folds.json"
TARGETS = {"message_f1": 0.75, "joint_f1": 0.65}
REFERENCE = {"QUiTE baseline (dev, official scorer)": {"message_f1": 0.4825, "source_f1": 0.3483, "joint_f1": 0.4182}}
console = Console(width=None if sys.stdout.isatty() else 110)


def load_docs(path: Path, limit: int | None) -> list[dict[str, Any]]:
    docs = []
    for _, obj in read_jsonl(path, required=("doc_id", "text", "quotes")):
        docs.append(obj)
        if limit and len(docs) >= limit:
            break
    return docs


def to_article(doc: dict[str, Any], where: str) -> dict[str, Any]:
    return make_article({"id": doc["doc_id"], "text": doc["text"], "date": doc.get("date"),
                         "title": doc.get("title")}, where)


def _snip(text: str, tokens: sp.Tokens, idx: list[int]) -> str | None:
    if not idx:
        return None
    return text[tokens.starts[idx[0]]:tokens.ends[idx[-1]]]


def error_sample(groups, docs_by_id: dict[str, dict[str, Any]], preds: dict[str, list[dict[str, Any]]],
                 n: int, seed: int = 0) -> list[dict[str, Any]]:
    """A reproducible sample of imperfect groups, with the texts needed to see what went wrong."""
    rows = [r for r in groups.to_dict("records") if sp.outcome(r) != "perfect"]
    random.Random(seed).shuffle(rows)
    out = []
    for r in rows[:n]:
        doc = docs_by_id[r["doc_id"]]
        g = None if r["gold_ref"] is None or r["gold_ref"] != r["gold_ref"] else doc["quotes"][int(r["gold_ref"])]
        p = None if r["sys_ref"] is None or r["sys_ref"] != r["sys_ref"] else preds[r["doc_id"]][int(r["sys_ref"])]
        kind = sp.outcome(r)
        anchor = (g or p)["start"]
        sent = next(((s, e) for s, e in doc.get("sentences", []) if s <= anchor < e), (anchor, anchor + 200))
        out.append({
            "doc_id": r["doc_id"], "kind": kind, "gold_type": r["gold_type"], "pred_type": r["sys_type"],
            "message_overlap": round(float(r["message_overlap"]), 3),
            "gold_message": None if g is None else doc["text"][g["start"]:g["end"]],
            "pred_message": None if p is None else p["text"],
            "gold_source": None if g is None else g.get("speaker_text"),
            "pred_source": None if p is None else p.get("speaker_mention"),
            "pred_speaker": None if p is None else p.get("speaker"),
            "gold_cue": None if g is None else g.get("cue_text"), "pred_cue": None if p is None else p.get("cue"),
            "sentence": doc["text"][sent[0]:sent[1]],
        })
    return out


def _figures(docs: list[dict[str, Any]], preds: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, float], Any]:
    triples = []
    for doc in docs:
        tokens = sp.Tokens(doc["text"])
        triples.append((doc["doc_id"], sp.gold_events(doc, tokens), sp.record_events(preds[doc["doc_id"]], tokens)))
    return sp.evaluate(triples)


#: The output type a gold type is credited to in the typed figures (SpkAtt's
#: indirect_free_indirect is Konjunktiv speech without a frame: the rules type it indirect).
OUT_OF_GOLD_TYPE = {"direct": "direct", "indirect": "indirect", "indirect_free_indirect": "indirect",
                    "free_indirect": "free_indirect", "reported": "reported"}
OUT_OF_RECORD_TYPE = {"mixed": "indirect"}


def _keep_types(preds: dict[str, list[dict[str, Any]]], types: Any) -> dict[str, list[dict[str, Any]]]:
    return {k: [r for r in v if r["type"] in types] for k, v in preds.items()}


def typed_figures(docs: list[dict[str, Any]], preds: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per output type: the official metric over the gold events of that type (mapped by
    OUT_OF_GOLD_TYPE) against the records of that type only, so an opt-in type's figure is
    neither helped nor hurt by the others'."""
    out = {}
    for t in ("direct", "indirect", "free_indirect", "reported"):
        triples = []
        for doc in docs:
            tokens = sp.Tokens(doc["text"])
            gold = {**doc, "quotes": [q for q in doc["quotes"] if OUT_OF_GOLD_TYPE.get(q.get("type")) == t]}
            recs = [r for r in preds[doc["doc_id"]] if OUT_OF_RECORD_TYPE.get(r["type"], r["type"]) == t]
            triples.append((doc["doc_id"], sp.gold_events(gold, tokens), sp.record_events(recs, tokens)))
        scores, groups = sp.evaluate(triples)
        count = lambda col: int(groups[col].notna().sum()) if col in groups else 0  # noqa: E731
        out[t] = {**scores, "gold": count("gold_type"), "system": count("sys_type")}
    return out


def _typed_table(docs: list[dict[str, Any]], rules: dict[str, list[dict[str, Any]]],
                 learned: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Print the typed figures of rules and learned layer (every type emitted) and return them."""
    fig = {"rules": typed_figures(docs, rules), "learned": typed_figures(docs, learned)}
    tt = Table(title="Typed figures, every type emitted (gold events of a type vs records of that type; "
                     "official macro metric; free_indirect and reported are opt-in with --types)",
               title_justify="left")
    for col in ("type", "gold", "records (rules / learned)", "rules M F1", "learned M P", "learned M R",
                "learned M F1", "rules J F1", "learned J F1"):
        tt.add_column(col, justify="left" if col == "type" else "right")
    for t, lf in fig["learned"].items():
        rf = fig["rules"][t]
        tt.add_row(t, str(lf["gold"]), f"{rf['system']} / {lf['system']}", f"{100 * rf['message_f1']:.2f}",
                   f"{100 * lf['message_p']:.2f}", f"{100 * lf['message_r']:.2f}", f"{100 * lf['message_f1']:.2f}",
                   f"{100 * rf['joint_f1']:.2f}", f"{100 * lf['joint_f1']:.2f}")
    console.print(tt)
    return fig


def _param(text: str) -> tuple[str, Any]:
    """NAME=VALUE of --param, the value read as JSON (0.6, true, "all") where it parses."""
    name, _, value = text.partition("=")
    try:
        return name.strip(), json.loads(value)
    except ValueError:
        return name.strip(), value


def folds_main(args: argparse.Namespace, docs: list[dict[str, Any]], registry: Any) -> int:
    """Rules alone (tuned on these articles: a training figure) beside the learned layer, every
    article scored by a model trained on the other folds; per type, per outcome, time per article.
    One out-of-fold run with every type emitted; the figures of the --types set keep its records."""
    from toolkit.attribution.extract import ALL_TYPES, parse_types
    from toolkit.attribution.learned.data import capture
    from toolkit.attribution.learned.folds import out_of_fold, read_folds

    types = parse_types(args.types)
    folds = read_folds(args.folds, [d["doc_id"] for d in docs])
    if args.dev:  # development: folds 1-4 only, each scored by a model of the other three
        folds = folds[:4]
        docs = [d for d in docs if d["doc_id"] in {i for f in folds for i in f}]
    params = dict(_param(p) for p in args.param)
    t = time.process_time()
    captured = capture(docs, registry)
    rule_s = time.process_time() - t
    rules_all = {c.doc_id: c.records for c in captured}
    learned_all, times = out_of_fold(docs, captured, folds, registry, types=ALL_TYPES, **params)
    typed = _typed_table(docs, rules_all, learned_all)
    rules, learned = _keep_types(rules_all, types), _keep_types(learned_all, types)
    every = _figures(docs, learned_all)[0]
    console.print(f"learned, out of fold, every type emitted (--types all): Message / Source / Joint F1 "
                  f"{100 * every['message_f1']:.2f} / {100 * every['source_f1']:.2f} / {100 * every['joint_f1']:.2f}")
    last = [d for d in docs if d["doc_id"] in set(folds[-1])]
    lf = _figures(last, _keep_types(learned_all, types))[0]
    console.print(f"learned, fold {len(folds)} alone (model of the other folds), --types set: Message / Source / Joint F1 "
                  f"{100 * lf['message_f1']:.2f} / {100 * lf['source_f1']:.2f} / {100 * lf['joint_f1']:.2f}")
    rl = _figures(last, _keep_types(rules_all, types))[0]
    console.print(f"rules, fold {len(folds)} alone (a training figure), --types set: Message / Source / Joint F1 "
                  f"{100 * rl['message_f1']:.2f} / {100 * rl['source_f1']:.2f} / {100 * rl['joint_f1']:.2f}")
    console.print(f"types emitted below: {', '.join(sorted(types))}")
    (rs, rg), (ls, lg) = _figures(docs, rules), _figures(docs, learned)
    console.print(f"{len(docs)} articles in {len(folds)} folds ({args.folds.name}); "
                  f"{int(rg['gold_type'].notna().sum())} top-level gold events")
    t = Table(title="Honest protocol (official macro metric)", title_justify="left")
    for col in ("figure", "rules: training figure F1 %", "learned: out of fold F1 %", "gap"):
        t.add_column(col, justify="left" if col == "figure" else "right")
    for name in ("message", "source", "joint"):
        a, b = 100 * rs[f"{name}_f1"], 100 * ls[f"{name}_f1"]
        t.add_row(name.capitalize(), f"{a:.2f}", f"{b:.2f}", f"{b - a:+.2f}")
    console.print(t)
    bt = Table(title="Recall by gold type (Message R %, Source R %)", title_justify="left")
    for col in ("type", "events", "rules M", "learned M", "rules S", "learned S"):
        bt.add_column(col, justify="left" if col == "type" else "right")
    rb, lb = sp.by_type(rg), sp.by_type(lg)
    for r, l in zip(rb[rb.side == "gold"].to_dict("records"), lb[lb.side == "gold"].to_dict("records")):
        bt.add_row(r["type"], str(r["events"]), f"{100 * r['message_r']:.1f}", f"{100 * l['message_r']:.1f}",
                   f"{100 * r['source_r']:.1f}", f"{100 * l['source_r']:.1f}")
    console.print(bt)
    for name, groups in (("rules", rg), ("learned", lg)):
        kinds = Counter(sp.outcome(g) for g in groups.to_dict("records"))
        console.print(f"outcomes, {name}: " + ", ".join(f"{k} {kinds.get(k, 0)}" for k in
                      ("miss", "message_boundary", "wrong_source", "message_no_overlap", "false_alarm", "perfect")))
    n = len(docs)
    console.print(f"CPU ms per article: rules {1000 * rule_s / n:.1f}, rules + learned layer "
                  f"{1000 * times['extract_s'] / n:.1f} (ratio {times['extract_s'] / rule_s:.2f}); "
                  f"training {times['train_s']:.1f} s for {len(folds)} models")
    if args.out:
        write_json(args.out, {"articles": n, "params": params, "dev": args.dev, "types": sorted(types), "rules": rs, "learned_out_of_fold": ls,
                              "typed_all_emitted": typed, "learned_every_type": every, "times": times, "rule_s": rule_s})
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"SpkAtt train.jsonl (default {DEFAULT_DATA})")
    ap.add_argument("--limit", type=int, default=None, help="Only the first N articles (quick runs).")
    ap.add_argument("--errors", type=Path, default=Path("/tmp/spkatt_errors.jsonl"),
                    help="Where to write a sample of errors (JSONL; keep it outside the repository).")
    ap.add_argument("--n-errors", type=int, default=300, help="Size of the error sample.")
    ap.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here.")
    ap.add_argument("--check", action="store_true", help="Exit 1 when a team target is missed.")
    ap.add_argument("--folds", nargs="?", type=Path, const=DEFAULT_FOLDS, default=None,
                    help=f"Honest protocol: rules (a training figure) beside the learned layer out of fold, "
                         f"folds from this file (default {DEFAULT_FOLDS}).")
    ap.add_argument("--param", action="append", default=[],
                    help="With --folds: an AttributionModel parameter, NAME=VALUE (repeatable), e.g. sentence_threshold=0.6.")
    ap.add_argument("--dev", action="store_true",
                    help="With --folds: folds 1-4 only (develop there; report fold 5 and the 5-fold figure).")
    ap.add_argument("--types", default="default",
                    help="Quote types emitted, as `qst extract --types` takes them (default: direct,indirect,mixed; "
                         "'all' adds free_indirect and reported).")
    args = ap.parse_args(argv)

    if not args.data.exists():
        console.print(f"SpkAtt benchmark skipped: {args.data} not found (the data lives beside the repository in "
                      "../shared/spkatt-news/ and is never copied into it).")
        return 0
    if args.errors.resolve().is_relative_to(REPO):
        console.print(f"[red]refusing to write corpus text into the repository: {args.errors}[/]")
        return 2

    from toolkit.attribution.extract import extract_article
    from toolkit.attribution.speakers import load_registry

    from toolkit.attribution.extract import parse_types

    docs = load_docs(args.data, args.limit)
    registry = load_registry()
    types = parse_types(args.types)
    if args.folds is not None:
        return folds_main(args, docs, registry)
    preds: dict[str, list[dict[str, Any]]] = {}
    triples = []
    overlap_rows: list[dict[str, Any]] = []
    shifted = 0
    t0 = time.perf_counter()
    extract_time = 0.0
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("extracting", total=len(docs))
        for doc in docs:
            article = to_article(doc, f"{args.data}:{doc['doc_id']}")
            if article["text"] != doc["text"]:
                shifted += 1  # normalisation changed the text: offsets would not line up
            t = time.perf_counter()
            recs = extract_article(article, registry, None, types)
            extract_time += time.perf_counter() - t
            preds[doc["doc_id"]] = recs
            tokens = sp.Tokens(article["text"])
            triples.append((doc["doc_id"], sp.gold_events(doc, tokens), sp.record_events(recs, tokens)))
            overlap_rows += sp.overlap_document(doc["doc_id"], sp.gold_char_events(doc), sp.record_char_events(recs))
            progress.advance(task)
    scores, groups = sp.evaluate(triples)
    overlap = sp.overlap_scores(pd.DataFrame(overlap_rows, columns=["status", "source_ok"]))
    total_time = time.perf_counter() - t0
    breakdown = sp.by_type(groups)

    n_gold = int(groups["gold_type"].notna().sum())
    n_sys = int(groups["sys_type"].notna().sum())
    console.print(f"{len(docs)} articles, {n_gold} top-level gold events, {n_sys} extracted quotes; "
                  f"{shifted} articles changed by text normalisation")
    t = Table(title="SpkAtt-2023 Task 2 (simplified: Message + Source, top-level), official macro metric",
              title_justify="left")
    for col in ("figure", "P %", "R %", "F1 %", "target F1 %"):
        t.add_column(col, justify="left" if col == "figure" else "right")
    for name, key in (("Message", "message"), ("Source", "source"), ("Joint", "joint")):
        tgt = TARGETS.get(f"{key}_f1")
        t.add_row(name, f"{100 * scores[f'{key}_p']:.2f}", f"{100 * scores[f'{key}_r']:.2f}",
                  f"{100 * scores[f'{key}_f1']:.2f}", "" if tgt is None else f"≥ {100 * tgt:.0f}")
    t.add_row("Cue (unofficial)", f"{100 * scores['cue_p']:.2f}", f"{100 * scores['cue_r']:.2f}",
              f"{100 * scores['cue_f1']:.2f}", "")
    for name, ref in REFERENCE.items():
        t.add_row(f"[dim]{name}[/]", "", "", f"[dim]M {100 * ref['message_f1']:.2f} / S {100 * ref['source_f1']:.2f} "
                  f"/ J {100 * ref['joint_f1']:.2f}[/]", "")
    console.print(t)
    mt = Table(title="Micro (token counts summed over events; not the official figure)", title_justify="left")
    for col in ("role", "P %", "R %", "F1 %"):
        mt.add_column(col, justify="left" if col == "role" else "right")
    for role in ("message", "source", "cue"):
        mt.add_row(role, f"{100 * scores[f'micro_{role}_p']:.2f}", f"{100 * scores[f'micro_{role}_r']:.2f}",
                   f"{100 * scores[f'micro_{role}_f1']:.2f}")
    console.print(mt)
    ot = Table(title="Span overlap (the issue's rule): top-level direct, indirect, indirect_free_indirect; "
                     "match = >= 50% of each event's characters shared; joint = match + source mention in >= 50% "
                     "mutual overlap (or none on both sides)", title_justify="left")
    for col in ("figure", "P %", "R %", "F1 %", "counts"):
        ot.add_column(col, justify="left" if col in ("figure", "counts") else "right")
    for name, key, tp in (("Message", "message", "matched"), ("Joint (message + source)", "joint", "joint_matched")):
        ot.add_row(name, f"{100 * overlap[f'{key}_p']:.2f}", f"{100 * overlap[f'{key}_r']:.2f}",
                   f"{100 * overlap[f'{key}_f1']:.2f}", f"{overlap[tp]} of {overlap['system']} extracted / "
                   f"{overlap['gold']} gold")
    console.print(ot)
    console.print(f"({overlap['ignored']} extracted quotes matched reported, free_indirect or nested gold events: "
                  "neither credited nor counted as false alarms)")
    bt = Table(title="By type (gold rows: recall over gold events of the type; system rows: precision)",
               title_justify="left")
    for col in ("side", "type", "events", "paired", "Message P %", "Message R %", "Source P %", "Source R %"):
        bt.add_column(col, justify="left" if col in ("side", "type") else "right")
    fmt = lambda v: "" if v is None or v != v else f"{100 * v:.1f}"  # noqa: E731
    for r in breakdown.to_dict("records"):
        bt.add_row(r["side"], r["type"], str(r["events"]), str(r["found"]), fmt(r["message_p"]), fmt(r["message_r"]),
                   fmt(r["source_p"]), fmt(r["source_r"]))
    console.print(bt)
    console.print(f"throughput: {len(docs) / extract_time:.1f} articles/s extraction only "
                  f"({extract_time:.1f} s), {len(docs) / total_time:.1f} articles/s end to end ({total_time:.1f} s)")
    status = {k: scores[k] >= v for k, v in TARGETS.items()}
    console.print("targets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'} ({100 * scores[k]:.2f} vs {100 * TARGETS[k]:.0f})"
                                         for k, ok in status.items()))

    sample = error_sample(groups, {d["doc_id"]: d for d in docs}, preds, args.n_errors)
    write_jsonl(args.errors, sample)
    kinds = dict(Counter(sp.outcome(g) for g in groups.to_dict("records")))
    console.print("groups by outcome: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    console.print(f"wrote {len(sample)} sampled errors to {args.errors}")
    if args.out:
        write_json(args.out, {"articles": len(docs), "gold_events": n_gold, "system_events": n_sys, "scores": scores,
                              "span_overlap": overlap,
                              "by_type": breakdown.to_dict("records"), "outcomes": kinds,
                              "articles_per_second": len(docs) / extract_time, "targets": TARGETS})
    if args.check and not all(status.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
