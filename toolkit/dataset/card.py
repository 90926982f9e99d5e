"""The dataset card (README.md) for the quote stance dataset.

The YAML header is produced by `datasets`' own serialisers from the DatasetDict's Features and
split sizes (DatasetInfosDict / MetadataConfigs -> huggingface_hub DatasetCardData), exactly as
`push_to_hub` would write it, so the card cannot describe labels in a different order than the
parquet files hold them. The body is written from the data: counts, exclusions, per-outlet label
distribution, speakers, agreement figures.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.dataset.folder import DATA_FILE, SPLITS
from toolkit.errors import InputError
from toolkit.inputs import load_yaml

LABEL_MEANINGS = {
    "favor": "the speaker's quote supports, defends or argues for the target",
    "against": "the speaker's quote criticises, opposes or argues against the target",
    "neutral": "the quote is about the target but takes no side (reports, describes, asks)",
}

FIELD_DOCS = {
    "quote_id": "stable id of the quote (`q_` + 16 hex; same article, offsets and type give the same id)",
    "article_id": "id of the news article the quote comes from (splits are grouped by this)",
    "source": "news outlet, where known",
    "url": "article URL, where known",
    "date": "article date (ISO `YYYY-MM-DD`), where known",
    "speaker": "canonical name of the quoted speaker (after annotator review), or null",
    "speaker_mention": "the speaker as named in the text",
    "quote": "the quoted text",
    "quote_type": "`direct` (in quotation marks), `indirect` (reported speech) or `mixed`",
    "context": "the sentence(s) around the quote",
    "quote_start": "character offset of the quote in the article text (Unicode NFC, `\\n` line ends)",
    "quote_end": "end offset (exclusive) of the quote",
    "context_start": "start offset of the context",
    "context_end": "end offset of the context",
    "speaker_mention_start": "start offset of the speaker mention, or null",
    "speaker_mention_end": "end offset of the speaker mention, or null",
    "target": "the entity or proposition the stance is about, as recorded by the annotators (null if none was recorded)",
    "label": "adjudicated stance of the speaker towards the target (ClassLabel)",
    "annotations": "each annotator's own label: list of `{annotator, label}` with pseudonymous annotator ids; "
                   "`label` may be `unclear` or null (no stance given)",
    "agreement": "share of the item's annotators whose label equals the adjudicated label",
    "resolution": "how the label was decided: unanimous, majority, adjudicator or ground_truth",
}

TEXT_MODE_DOCS = {
    "full": "quote text, speaker mention and the surrounding context are included",
    "quote": "only the quote text and speaker mention are included (no context)",
    "ids": "no news text at all: ids, character offsets and article URLs only; rebuild the text from the "
           "articles with the offsets",
}


def _read_yaml(path: Path) -> Any:
    """A small YAML/JSON side file of the card, through the one YAML loader (toolkit.inputs.load_yaml)."""
    return load_yaml(path, "YAML/JSON file")


def read_outlet_notes(path: str | Path) -> dict[str, str]:
    """Read an outlet -> note mapping (JSON or YAML) describing each outlet's known slant."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InputError(f"{path}: expected a mapping of outlet name -> description")
    return {str(k): v for k, v in data.items()}


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def read_annotators(path: str | Path) -> dict[str, Any]:
    """Who annotated: YAML with `annotations_creators` (the Hub's vocabulary) and `description` (Markdown).

    The card must say honestly who made the labels; a build without this file says only how many.
    """
    path = Path(path)
    data = _read_yaml(path)
    allowed = {"crowdsourced", "expert-generated", "found", "machine-generated", "no-annotation", "other"}
    creators = data.get("annotations_creators") if isinstance(data, dict) else None
    creators = [creators] if isinstance(creators, str) else creators
    if not creators or not set(creators) <= allowed:
        raise InputError(f"{path}: annotations_creators must be one or more of {sorted(allowed)}, got {creators!r}")
    if not isinstance(data.get("description"), str) or not data["description"].strip():
        raise InputError(f"{path}: field 'description' (who annotated, how) is required")
    return {"annotations_creators": list(creators), "description": data["description"].strip()}


def card_data(dsd, *, license: str, pretty_name: str, annotations_creators: list[str] | None = None):
    """DatasetCardData with the Hub metadata plus dataset_info/configs serialised by `datasets`."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    features = dsd["train"].features
    for split in SPLITS:
        if dsd[split].features != features:
            raise ValueError(f"split {split} has different features than train")
    splits = SplitDict()
    total = 0
    for split in SPLITS:
        nbytes = dsd[split].data.nbytes
        splits.add(SplitInfo(name=split, num_bytes=nbytes, num_examples=len(dsd[split])))
        total += nbytes
    info = DatasetInfo(features=features, splits=splits, dataset_size=total)
    data = DatasetCardData(
        language=["de"],
        license=license,
        task_categories=["text-classification"],
        task_ids=["multi-class-classification"],
        tags=["stance-detection", "quotations", "news", "german"],
        pretty_name=pretty_name,
        size_categories=[size_category(sum(len(dsd[s]) for s in SPLITS))],
        annotations_creators=annotations_creators or ["expert-generated"],
        language_creators=["found"],
        multilinguality=["monolingual"],
        source_datasets=["original"],
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    MetadataConfigs({"default": {"data_files": [{"split": s, "path": DATA_FILE.format(split=s)} for s in SPLITS]}}
                    ).to_dataset_card_data(data)
    return data


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in r) + " |" for r in rows]
    return "\n".join(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _figure(entry: Any) -> str:
    """Render one figure of the agreement stage ({value, reason, n_items, ...}) or a plain number."""
    if isinstance(entry, dict):
        value = entry.get("value")
        n = entry.get("n_items")
        basis = f" (n={n})" if n is not None else (f" ({entry['n_pairs']} pairs)" if "n_pairs" in entry else "")
        return f"{_fmt(value)}{basis}" if value is not None else f"undefined: {entry.get('reason') or 'no reason given'}"
    return _fmt(entry)


_STANCE_FIGURES = (("krippendorff_alpha", "Krippendorff's alpha (nominal)"), ("fleiss_kappa", "Fleiss' kappa"),
                   ("mean_cohen_kappa", "mean pairwise Cohen's kappa"), ("percent_agreement", "observed pairwise agreement"))


def _agreement_section(agreement: dict | None, stats) -> str:
    """Agreement figures: the agreement stage's agreement.json if given, else the per-item column only.

    Raw annotator ids in agreement.json (e.g. e-mail addresses) are never copied into the card.
    """
    lines = []
    if stats.resolution_counts:
        res = ", ".join(f"{k}: {v}" for k, v in sorted(stats.resolution_counts.items()))
        lines.append(f"How the labels in the dataset were decided: {res}.")
    if not isinstance(agreement, dict):
        lines.append("No agreement report was supplied when this card was built (`qst build-dataset --agreement`); "
                     "the per-item `agreement` column gives the share of annotators agreeing with the final label.")
        return "\n\n".join(lines)
    adjudication = agreement.get("adjudication") if isinstance(agreement.get("adjudication"), dict) else {}
    rule = adjudication.get("rule") or agreement.get("rule") or agreement.get("adjudication_rule")
    if rule:
        lines.append(f"Adjudication rule: {rule if isinstance(rule, str) else json.dumps(rule, ensure_ascii=False)}")
    stance = agreement.get("stance")
    if isinstance(stance, dict):  # the shape written by `qst agreement`
        rows = [[label, _figure(stance.get(key))] for key, label in _STANCE_FIGURES if key in stance]
        per_label = stance.get("per_label_alpha") or {}
        rows += [[f"alpha, {lab} vs rest", _figure(e)] for lab, e in per_label.items()]
        lines.append(f"Stance agreement over {stance.get('items_used', '?')} items labelled by at least two of "
                     f"{len(stance.get('annotators') or [])} annotators (before adjudication, `unclear` included "
                     "as a label):\n\n" + _table(["figure", "value"], rows))
        if adjudication.get("resolution_counts"):
            lines.append("Adjudication of all annotated quotes: " + ", ".join(
                f"{k} {v}" for k, v in adjudication["resolution_counts"].items()) + ".")
        attribution = agreement.get("attribution")
        if isinstance(attribution, dict) and "attribution_accuracy" in attribution:
            lines.append("Speaker attribution checked by the annotators: accuracy (confirmed / real quotes) "
                         f"{_figure(attribution.get('attribution_accuracy'))}, quote precision "
                         f"{_figure(attribution.get('quote_precision'))}.")
        return "\n\n".join(lines)
    items = []
    for key, value in agreement.items():
        if key in {"rule", "adjudication_rule", "annotators", "source"}:
            continue
        if isinstance(value, (int, float, str, bool)) or value is None:
            items.append(f"- **{key}**: {_fmt(value)}")
        elif isinstance(value, dict) and "value" in value:
            items.append(f"- **{key}**: {_figure(value)}")
        elif isinstance(value, dict):
            inner = [f"{k}: {_fmt(v)}" for k, v in value.items() if isinstance(v, (int, float, str, bool)) or v is None]
            if inner:
                items.append(f"- **{key}**: " + "; ".join(inner))
    lines.append("Figures from the agreement report (`agreement.json`):\n\n" +
                 ("\n".join(items) if items else "(the report holds no scalar figures)"))
    return "\n\n".join(lines)


def _annotation_process(annotations: pd.DataFrame | None, stats) -> str:
    pre = (annotations is not None and "prediction_stance" in annotations.columns
           and annotations["prediction_stance"].notna().any())
    parts = [f"{stats.n_annotators} annotator(s) labelled the quotes in Label Studio"
             + (", pre-annotated with a model's suggestion that they could accept or change. " if pre else ". ")
             + "Each quote was shown with its context, the attributed speaker and the stance target; annotators "
             "also confirmed or corrected the speaker, or marked the span as not a quote."]
    if annotations is not None and len(annotations):
        done = annotations[~annotations.get("was_cancelled", pd.Series(False, index=annotations.index)).fillna(False).astype(bool)]
        per_item = done.groupby("quote_id")["annotator"].nunique()
        parts.append(f"The annotation export holds {len(annotations)} annotations ({len(done)} not cancelled) on "
                     f"{per_item.size} quotes; annotators per quote: median {per_item.median():g}, "
                     f"min {per_item.min()}, max {per_item.max()}.")
        if "changed_from_prediction" in done.columns:
            changed = done["changed_from_prediction"].dropna().astype(bool)
            if len(changed):
                parts.append(f"Annotators changed the model's pre-annotation in {changed.mean():.0%} of {len(changed)} "
                             "annotations; pre-annotation can anchor annotators towards the model's answer.")
        if "lead_time" in done.columns:
            lt = pd.to_numeric(done["lead_time"], errors="coerce").dropna()
            if len(lt):
                parts.append(f"Median time per annotation: {lt.median():.0f} s.")
    return " ".join(parts)


def _description_section(rows: pd.DataFrame, stats) -> str:
    """What the data is, how it was made, what it is (not) for, and which text mode this build used."""
    return ("## Dataset description\n\n"
            f"{stats.rows_out} quotations from {rows['article_id'].nunique()} German-language news articles, each attributed "
            "to a speaker and labelled with the speaker's stance (favor / against / neutral) towards a target. "
            "Quotes were found and attributed automatically (`qst extract`: direct, indirect and mixed "
            "quotations with their speaker), then reviewed and labelled by human annotators and adjudicated. "
            "Intended uses: training and evaluating stance classifiers and quote attribution on German news; "
            "studying how outlets quote people. Not intended for judging individual people.\n\n"
            f"Text mode of this build: **{stats.text_mode}** - {TEXT_MODE_DOCS[stats.text_mode]}.")


def _fields_section(features, rows: pd.DataFrame, label_names: list[str]) -> str:
    """The field table read from the built features (so it cannot drift from the data), the label ids
    in ClassLabel order and the label counts."""
    field_rows = [[f"`{name}`", str(getattr(feat, 'dtype', type(feat).__name__)) if not hasattr(feat, 'names')
                   else "ClassLabel", FIELD_DOCS.get(name, "")] for name, feat in features.items()]
    labels = "\n".join(f"- `{i}` = **{name}**: {LABEL_MEANINGS[name]}" for i, name in enumerate(label_names))
    counts = rows["label"].value_counts()
    return ("## Data fields\n\n" + _table(["field", "type", "meaning"], field_rows)
            + f"\n\nLabel ids (`label` is a `ClassLabel`, names in this order):\n\n{labels}\n\n"
            + "Label counts: " + ", ".join(f"{name} {int(counts.get(name, 0))}" for name in label_names) + ".")


def _splits_section(rows: pd.DataFrame, stats) -> str:
    """Per-split sizes and labels, why splits are grouped by article, and every quote left out with
    its reason, so the card accounts for each extracted quote."""
    excl = stats.excluded
    excl_text = ("; ".join(f"{reason}: {k}" for reason, k in sorted(excl.items())) if excl else "none")
    split_rows = [[s, stats.split_rows[s], len(stats.split_articles[s]),
                   ", ".join(f"{lab} {int(c)}" for lab, c in rows[rows['article_id'].isin(stats.split_articles[s])]
                             ['label'].value_counts().items())] for s in SPLITS]
    return ("## Splits\n\n" + _table(["split", "quotes", "articles", "labels"], split_rows) + "\n\n"
            + "Splits are grouped by article: all quotes of one article are in the same split, so a model "
            "cannot score by remembering an article's wording or speakers. " + stats.split_note
            + f"\n\nOf {stats.quotes_in} extracted quotes and {stats.adjudicated_in} adjudicated ones, {stats.rows_out} are in "
            f"the dataset. Left out (not in any split): {excl_text}. Quotes adjudicated `unclear` (no stance "
            "discernible) and unresolved ones (annotators disagreed and no adjudicator decided) are excluded "
            "from `label`, as are spans the annotators marked as not being a quote and quote records "
            "whose text is empty.")


def _annotation_sections(annotations: pd.DataFrame | None, stats, agreement: dict | None,
                         guidelines_name: str | None, annotators: dict[str, Any] | None) -> list[str]:
    """Process, guidelines, annotators (pseudonymised) and agreement: the parts a reader needs to
    judge how far the labels can be trusted."""
    return [
        "## Annotation process\n\n" + _annotation_process(annotations, stats),
        "### Guidelines\n\n" + (
            f"The annotation guidelines are included as [`{guidelines_name}`]({guidelines_name}) (from "
            "`annotations/guidelines.md` in the toolkit repository)." if guidelines_name else
            "The guidelines were not supplied with this build (`--guidelines annotations/guidelines.md`)."),
        "### Annotators\n\n"
        f"{stats.n_annotators} annotator(s). Their ids in `annotations` are pseudonyms "
        "(`annotator_01`, ... in the sorted order of the original ids) that are stable within this release; "
        "no personal information about annotators is included."
        + ("\n\n" + annotators["description"] if annotators else ""),
        "### Agreement and adjudication\n\n" + _agreement_section(agreement, stats),
    ]


def _people_section(rows: pd.DataFrame) -> str:
    """Who is quoted (the 15 most frequent speakers) and how to report an error: the data names real
    people, so the card says what an attribution does and does not claim."""
    speakers = Counter(str(s) for s in rows["speaker"].dropna() if s)
    top = speakers.most_common(15)
    return ("## People named in the data\n\n"
            "The speakers are mostly public officials and public figures (politicians, government spokespeople, "
            "diplomats) quoted in published news. Each quote is attributed to them by an automatic system "
            "reviewed by annotators; attributions and stance labels can be wrong and describe what an article "
            "reports them as saying, not necessarily what they said. The dataset holds no private information "
            "beyond what the articles published. To report an error or request removal, open a discussion on "
            "the dataset page.\n\n"
            + (_table(["speaker", "quotes"], [[s, c] for s, c in top]) if top else "No speaker was identified.")
            + (f"\n\n({len(speakers) - len(top)} more speakers not listed.)" if len(speakers) > len(top) else "")
            + f"\n\nQuotes without an identified speaker: {int(rows['speaker'].isna().sum())}.")


def _outlets_section(rows: pd.DataFrame, label_names: list[str], outlet_notes: dict[str, str]) -> str:
    """Label distribution per outlet with the maintainers' notes, because outlet style is the most
    likely shortcut a classifier trained on this data learns."""
    src = rows["source"].fillna("(unknown outlet)")
    outlet_rows = []
    for outlet, part in rows.assign(_src=src).groupby("_src"):
        dist = part["label"].value_counts(normalize=True)
        outlet_rows.append([outlet, part["article_id"].nunique(), len(part),
                            " / ".join(f"{dist.get(lab, 0):.0%}" for lab in label_names),
                            outlet_notes.get(outlet, "")])
    return ("## Source outlets and bias\n\n"
            + _table(["outlet", "articles", "quotes", "/".join(label_names), "note"], outlet_rows)
            + "\n\nThe choice of outlets, topics and time span shapes whom the data quotes and which stances "
            "appear; a small set of outlets, some of them partisan or state-affiliated, cannot represent German "
            "news as a whole. Label distributions differ by outlet (table above), so a classifier can learn "
            "outlet style instead of stance. Annotators' own views may also colour the labels.")


def _licensing_section(stats, license: str) -> str:
    """The licence covers the annotations only; the news text stays the publishers'."""
    text_note = ("This build contains no news text at all (`--text-mode ids`): only ids, offsets and URLs. "
                 if stats.text_mode == "ids" else "")
    return ("## Licensing\n\n" + text_note +
            f"The annotations (labels, attributions, ids, offsets) are released under `{license}`. The news text "
            "(quotes and context) belongs to the publishers: the dataset licence cannot override their rights, "
            "and reuse of the text beyond what copyright exceptions for research (e.g. German UrhG section 60d, "
            "text and data mining) and quotation allow needs the publishers' permission. For outlets whose "
            "text may not be redistributed, build the dataset with `--text-mode ids` (offsets and URLs only).")


_LIMITATIONS = ("## Limitations\n\n"
                "- Small size; the held-out splits are small and scores on them have wide confidence intervals.\n"
                "- Quote detection and attribution are automatic; missed quotes are not in the data and attribution "
                "errors survive where annotators did not catch them.\n"
                "- Stance is labelled towards one target per quote; quotes about several targets are simplified.\n"
                "- `unclear` and unresolved items are left out, so the data over-represents clear-cut stances.\n"
                "- Offsets refer to the article text after Unicode NFC normalisation with `\\n` line ends.")


def _citation_section(repo_id: str | None, pretty_name: str) -> str:
    """A BibTeX entry keyed on the repository id (or a fixed key before the first push) and this year."""
    year = _dt.date.today().year
    key = (repo_id or "quote_stance_de").replace("/", "_").replace("-", "_")
    url = f"\n  url          = {{https://huggingface.co/datasets/{repo_id}}}," if repo_id else ""
    return ("## Citation\n\n```bibtex\n"
            f"@misc{{{key}_{year},\n  title        = {{{pretty_name}}},\n  year         = {{{year}}},{url}\n"
            "  note         = {Built with the quote-stance-toolkit (qst build-dataset)}\n}\n```")


def render_card(dsd, stats, *, rows: pd.DataFrame, annotations: pd.DataFrame | None,
                agreement: dict | None, guidelines_name: str | None, license: str, pretty_name: str,
                repo_id: str | None, outlet_notes: dict[str, str], annotators: dict[str, Any] | None = None) -> str:
    """The full README.md: YAML header from `card_data` plus the documentation body.

    Each section has its own helper so the order of the card is readable here at a glance."""
    from huggingface_hub import DatasetCard

    features = dsd["train"].features
    data = card_data(dsd, license=license, pretty_name=pretty_name,
                     annotations_creators=annotators["annotations_creators"] if annotators else None)
    label_names = features["label"].names
    body: list[str] = [
        f"# {pretty_name}",
        _description_section(rows, stats),
        _fields_section(features, rows, label_names),
        _splits_section(rows, stats),
        *_annotation_sections(annotations, stats, agreement, guidelines_name, annotators),
        _people_section(rows),
        _outlets_section(rows, label_names, outlet_notes),
        _licensing_section(stats, license),
        _LIMITATIONS,
        _citation_section(repo_id, pretty_name),
    ]
    content = f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(body) + "\n"
    return str(DatasetCard(content))
