"""Label Studio labeling config: the settings file and the XML generated from it.

schemas/labelstudio.yaml (targets, choices, hotkeys) is the one place to edit the labels;
`render_label_config` fills schemas/labeling_config.xml from it and the speaker registry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable
from xml.sax.saxutils import quoteattr

from toolkit import SCHEMAS_DIR
from toolkit.attribution.speakers import load_registry
from toolkit.errors import InputError
from toolkit.inputs import load_yaml

SETTINGS_FILE = SCHEMAS_DIR / "labelstudio.yaml"
CONFIG_TEMPLATE = SCHEMAS_DIR / "labeling_config.xml"

STANCES = ("favor", "against", "neutral", "unclear")
REVIEWS = ("confirmed", "corrected", "not_a_quote")


# --------------------------------------------------------------------------- settings + config

def load_settings(path: str | Path | None = None) -> dict[str, Any]:
    """Read schemas/labelstudio.yaml (targets, choices, hotkeys); the one place to edit them."""
    path = Path(path) if path else SETTINGS_FILE
    if not path.exists():
        raise InputError(f"{path}: Label Studio settings file not found")
    settings = load_yaml(path, "Label Studio settings file (YAML)") or {}
    if not isinstance(settings, dict):
        raise InputError(f"{path}: expected a mapping of settings, got {type(settings).__name__}")
    for key in ("default_target", "stance_choices", "speaker_review_choices"):
        if key not in settings:
            raise InputError(f"{path}: missing setting {key!r}")
    values = [c.get("value") for c in settings["stance_choices"]]
    if sorted(values) != sorted(STANCES):
        raise InputError(f"{path}: stance_choices must be exactly {', '.join(STANCES)}, got {values}")
    for key, (low, high) in TEAM_RANGES.items():
        settings[key] = _team_number(settings, key, low, high, path)
    settings["_path"] = str(path)
    return settings


#: Team settings of schemas/labelstudio.yaml: (default, lowest, highest).
TEAM_DEFAULTS = {"annotators_per_task": 2, "overlap_cohort_percentage": 100}
TEAM_RANGES = {"annotators_per_task": (1, 100), "overlap_cohort_percentage": (0, 100)}


def _team_number(settings: dict[str, Any], key: str, low: int, high: int, path: Path) -> int:
    """A whole number in range, or the default when absent: a typo must not reach the server as 0."""
    value = settings.get(key, TEAM_DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{path}: {key} must be a whole number from {low} to {high}, got {value!r}")
    return value


def project_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The Label Studio project fields `qst push` sets on create and re-push (names as in
    label_studio/projects/models.py, Label Studio 1.23).

    * maximum_annotations: the queue offers a task until this many annotators submitted it;
    * overlap_cohort_percentage: share of tasks that get maximum_annotations (the rest get 1);
    * show_overlap_first: with a partial overlap, the queue serves the overlapping tasks first,
      so agreement can be computed early;
    * show_annotation_history: off, so the editor shows no history panel of the task.
    The label stream itself never shows other annotators' annotations (its NextTaskSerializer
    returns none); what Community cannot hide is in docs/labelstudio.md, "Setting up a team".
    """
    percent = settings.get("overlap_cohort_percentage", TEAM_DEFAULTS["overlap_cohort_percentage"])
    return {"maximum_annotations": settings.get("annotators_per_task", TEAM_DEFAULTS["annotators_per_task"]),
            "overlap_cohort_percentage": percent,
            "show_overlap_first": percent < 100,
            "show_annotation_history": False}


def load_registry_speakers(path: str | Path | None) -> list[dict[str, str]]:
    """Speakers (id, name) of a speaker registry (`toolkit.attribution.speakers.load_registry`, schema-checked),
    one per name. A missing file gives an empty list: the config then offers free text only."""
    if path is None or not Path(path).exists():
        return []
    speakers, seen = [], set()
    for sid, sp in load_registry(path).speakers.items():
        if sp.name not in seen:
            seen.add(sp.name)
            speakers.append({"id": sid, "name": sp.name})
    return speakers


def _choice_lines(choices: Iterable[dict[str, Any]], indent: str) -> str:
    lines = []
    for c in choices:
        attrs = f"value={quoteattr(str(c['value']))}"
        if c.get("hint"):
            attrs += f" hint={quoteattr(str(c['hint']))}"
        if c.get("hotkey"):
            attrs += f" hotkey={quoteattr(str(c['hotkey']))}"
        lines.append(f"{indent}<Choice {attrs}/>")
    return "\n".join(lines)


def render_label_config(settings: dict[str, Any] | None = None, speakers_file: str | Path | None = None,
                        template: str | Path | None = None) -> str:
    """Fill schemas/labeling_config.xml from the settings and the speaker registry.

    Every inserted value is XML-attribute-escaped, so a speaker name cannot break the config.
    """
    settings = settings or load_settings()
    if speakers_file is None and settings.get("speakers_file"):
        base = Path(settings.get("_path", SETTINGS_FILE)).parent
        speakers_file = base / settings["speakers_file"]
    speakers = load_registry_speakers(speakers_file)
    text = Path(template or CONFIG_TEMPLATE).read_text(encoding="utf-8")
    text = text.replace("{{STANCE_CHOICES}}", _choice_lines(settings["stance_choices"], "    "))
    text = text.replace("{{SPEAKER_REVIEW_CHOICES}}", _choice_lines(settings["speaker_review_choices"], "    "))
    speaker_choices = [{"value": s["name"]} for s in speakers]
    text = text.replace("{{SPEAKER_CHOICES}}", _choice_lines(speaker_choices, "      "))
    leftover = re.findall(r"\{\{[A-Z_]+\}\}", text)
    if leftover:
        raise InputError(f"{template or CONFIG_TEMPLATE}: unknown placeholder(s) {', '.join(leftover)}")
    return text
