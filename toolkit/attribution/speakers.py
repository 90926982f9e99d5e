"""Speaker registry (data in schemas/speakers.yaml) and mention resolution.

Resolution is ours to write: names and spellings, role descriptions valid only within their
dates, bare surnames that resolve only to someone already named in the article (people who
share a name part never merge), pronouns resolved to the latest eligible earlier mention,
and organisations/metonymy ("Washington", "der Kreml") as non-person sources.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from toolkit import SCHEMAS_DIR
from toolkit.attribution.spans import word_before
from toolkit.errors import InputError
from toolkit.lexicon.active import LEX, NAME_TOKEN as _NAME_TOKEN, live
from toolkit.inputs import load_yaml

log = logging.getLogger(__name__)

DEFAULT_REGISTRY = SCHEMAS_DIR / "speakers.yaml"
REGISTRY_SCHEMA = SCHEMAS_DIR / "speakers.schema.json"

#: Role nouns ("Vize-Außenminister Kim Hong-kyun", "Avril Haines, die Direktorin …") and the heads of
#: organisation mentions are lexicon data (toolkit/lexicon/role_nouns.yaml); these follow `--lexicon`.
PERSON_NAME = re.compile(rf"{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{1,2}}")
ROLE_THEN_NAME = live("ROLE_THEN_NAME")
NAME_THEN_APPOSITION = live("NAME_THEN_APPOSITION")
ORG_HEAD = live("ORG_HEAD")

PRONOUNS = {"er": "m", "Er": "m", "sie": "f", "Sie": "f"}


@dataclass(frozen=True)
class Role:
    title: str
    patterns: tuple[str, ...]
    start: dt.date | None = None
    end: dt.date | None = None

    def valid_on(self, date: dt.date | None) -> bool:
        if date is None:
            return True
        return (self.start is None or self.start <= date) and (self.end is None or date <= self.end)


@dataclass(frozen=True)
class Speaker:
    id: str
    name: str
    kind: str
    gender: str | None = None
    focus: bool = False
    aliases: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    roles: tuple[Role, ...] = ()


def _by_first_character(keys: list[str]) -> str:
    """`(?<![\\w-])(?:k1|k2|…)` for literal keys, laid out as "P(?<![\\w-].)(?:utin|…)|W…": the same
    matches (at a position only the keys of its first character can match, and they keep their
    order), but each alternative now starts with a literal, so the regex engine skips to the next
    first character of a name in one loop instead of trying the look-behind and the alternation at
    every character (half the time of the registry scan on SpkAtt). The look-behind, taken after
    that character, looks at the one before it, as before."""
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(k[0], []).append(re.escape(k[1:]))
    return "|".join(rf"{re.escape(c)}(?<![\wÄÖÜäöüß-].)(?:{'|'.join(rest)})" for c, rest in groups.items())


@dataclass
class Registry:
    speakers: dict[str, Speaker]
    source: str = "<memory>"
    _matcher: re.Pattern[str] | None = field(default=None, repr=False)
    _lookup: dict[str, list[tuple[str, str, Role | None]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        entries: dict[str, list[tuple[str, str, Role | None]]] = {}
        for sp in self.speakers.values():
            for alias in {sp.name, *sp.aliases}:
                entries.setdefault(alias, []).append((sp.id, "alias" if alias != sp.name else "name", None))
            for short in sp.short_names:
                entries.setdefault(short, []).append((sp.id, "short", None))
            for role in sp.roles:
                for pat in role.patterns:
                    entries.setdefault(pat, []).append((sp.id, "role", role))
        self._lookup = entries
        keys = sorted(entries, key=len, reverse=True)
        if keys:
            # Allow German genitive/dative endings on the last word ("Putins", "Kremls", "Sprechers").
            alt = _by_first_character(keys) if all(keys) else rf"(?<![\wÄÖÜäöüß-])(?:{'|'.join(map(re.escape, keys))})"
            self._matcher = re.compile(rf"(?:{alt})(?:s|es|n)?(?![\wÄÖÜäöüß])")

    def get(self, speaker_id: str | None) -> Speaker | None:
        return self.speakers.get(speaker_id) if speaker_id else None

    def matches(self, text: str, start: int = 0, end: int | None = None) -> list[RegistryMatch]:
        """All registry mentions in text[start:end], longest first at each position."""
        if self._matcher is None:
            return []
        end = len(text) if end is None else end
        out: list[RegistryMatch] = []
        for m in self._matcher.finditer(text, start, end):
            surface = m.group()
            key = surface
            if key not in self._lookup:
                for suffix in ("es", "s", "n"):
                    if surface.endswith(suffix) and surface[: -len(suffix)] in self._lookup:
                        key = surface[: -len(suffix)]
                        break
            if key not in self._lookup:
                continue
            genitive = key != surface and surface.endswith("s")
            out.append(RegistryMatch(m.start(), m.end(), surface, tuple(self._lookup[key]), genitive))
        return out


@dataclass(frozen=True)
class RegistryMatch:
    start: int
    end: int
    text: str
    candidates: tuple[tuple[str, str, Role | None], ...]
    genitive: bool = False

    def resolve(self, registry: Registry, date: dt.date | None) -> tuple[str | None, str | None]:
        """(speaker id, method) for non-short candidates, honouring role dates."""
        for sid, method, role in self.candidates:
            if method == "short":
                continue
            if role is not None and not role.valid_on(date):
                continue
            sp = registry.speakers[sid]
            if method in ("name", "alias") and sp.kind == "organisation":
                return sid, "metonymy"
            return sid, method
        return None, None

    @property
    def short_ids(self) -> list[str]:
        return [sid for sid, method, _ in self.candidates if method == "short"]


def _to_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def parse_date(value: Any) -> dt.date | None:
    """ISO date or datetime string (or None) to a date; anything else is None."""
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _stringify_dates(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _stringify_dates(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_stringify_dates(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


_RE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _iso_date(value: str) -> bool:
    """jsonschema's "date" format check (jsonschema._format.is_date), for fastjsonschema."""
    try:
        return bool(_RE_DATE.fullmatch(value) and dt.date.fromisoformat(value))
    except ValueError:
        return False


@lru_cache(maxsize=1)
def _registry_check() -> Any:
    """The registry schema compiled by fastjsonschema as draft 7 (its keywords mean the same there),
    with jsonschema's own "date" check, so it accepts exactly what jsonschema accepts
    (tests/test_extract_validation.py). Why: jsonschema's import was a tenth of every `qst extract`."""
    import json

    import fastjsonschema

    schema = json.loads(REGISTRY_SCHEMA.read_text(encoding="utf-8"))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema, formats={"date": _iso_date})


def _registry_valid(data: Any) -> bool:
    import fastjsonschema

    try:
        _registry_check()(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _registry_errors(data: Any) -> list[Any]:
    """jsonschema's errors for the registry, first by path: it words the message of an invalid file."""
    import json

    import jsonschema

    schema = json.loads(REGISTRY_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))


def registry_from_dict(data: Any, source: str = "<memory>") -> Registry:
    """Validate against schemas/speakers.schema.json; errors name the entry and field."""
    data = _stringify_dates(data)
    errors = [] if _registry_valid(data) else _registry_errors(data)
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        where = source
        if len(path) >= 2 and path[0] == "speakers" and isinstance(path[1], int):
            entry = data["speakers"][path[1]]
            ident = entry.get("id", "?") if isinstance(entry, dict) else "?"
            field_path = ".".join(str(p) for p in path[2:]) or "(entry)"
            where = f"{source}: speaker #{path[1] + 1} (id {ident!r}), field {field_path}"
        elif path:
            where = f"{source}: field {'.'.join(str(p) for p in path)}"
        raise InputError(f"{where}: {err.message}")
    return _registry(data, source)


def _registry(data: dict[str, Any], source: str) -> Registry:
    """The registry of data that passed the schema (the checks the schema cannot express are here)."""
    speakers: dict[str, Speaker] = {}
    for i, entry in enumerate(data["speakers"]):
        if entry["id"] in speakers:
            raise InputError(f"{source}: speaker #{i + 1}: duplicate id {entry['id']!r}")
        roles = tuple(
            Role(r["title"], tuple(r["patterns"]), _to_date(r.get("start")), _to_date(r.get("end")))
            for r in entry.get("roles", [])
        )
        for r in roles:
            if r.start and r.end and r.start > r.end:
                raise InputError(f"{source}: speaker {entry['id']!r}, role {r.title!r}: start {r.start} is after end {r.end}")
        speakers[entry["id"]] = Speaker(
            id=entry["id"], name=entry["name"], kind=entry["kind"], gender=entry.get("gender"),
            focus=bool(entry.get("focus", False)), aliases=tuple(entry.get("aliases", [])),
            short_names=tuple(entry.get("short_names", [])), roles=roles,
        )
    return Registry(speakers, source)


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path) if path else DEFAULT_REGISTRY
    return _load_registry_cached(str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)


@lru_cache(maxsize=8)
def _load_registry_cached(path: str, _mtime: float) -> Registry:
    """toolkit.inputs.load_yaml: regular file, size cap, UTF-8, no aliases, dates kept as text.

    A file's checked data is kept in the cache (toolkit.cache), keyed by its path and bytes, the
    schema and the code that reads and checks it (this module, toolkit.inputs): parsing the YAML with
    PyYAML's Python loader and compiling the schema was a twentieth of a one-article `qst extract`.
    An entry that does not build (it could only be damaged) is ignored and the file read."""
    from toolkit import cache, inputs

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: speaker registry not found")
    key = cache.key(path, p, REGISTRY_SCHEMA, Path(__file__), Path(inputs.__file__))
    registry = _cached_registry(cache.read("registry", key), path)
    if registry is None:
        data = load_yaml(p, "speaker registry (YAML)")
        if not isinstance(data, dict):
            raise InputError(f"{p}: expected a mapping with a 'speakers' list")
        registry = registry_from_dict(data, str(p))
        data = _stringify_dates(data)
        if json.loads(json.dumps(data)) == data:  # JSON keeps it as it is (no non-string keys)
            cache.write("registry", key, data)
    for message in overlapping_roles(registry):
        log.warning("%s", message)
    return registry


def _cached_registry(data: Any, source: str) -> Registry | None:
    if not isinstance(data, dict) or not isinstance(data.get("speakers"), list) or not all(
            isinstance(e, dict) and all(isinstance(e.get(k), str) for k in ("id", "name", "kind")) for e in data["speakers"]):
        return None
    try:
        return _registry(data, source)
    except (KeyError, TypeError, AttributeError, ValueError, InputError):
        return None


def overlapping_roles(registry: Registry) -> list[str]:
    """Role patterns two speakers hold on overlapping dates: the mention would go to the first one
    listed, silently, so loading warns (naming both entries)."""
    holders: dict[str, list[tuple[Speaker, Role]]] = {}
    for sp in registry.speakers.values():
        for role in sp.roles:
            for pat in role.patterns:
                holders.setdefault(pat, []).append((sp, role))
    out = []
    for pat, held in holders.items():
        for i, (sa, ra) in enumerate(held):
            for sb, rb in held[i + 1:]:
                if sa.id != sb.id and _overlap(ra, rb):
                    out.append(f"{registry.source}: role pattern {pat!r} belongs to both {sa.id!r} "
                               f"({_span(ra)}) and {sb.id!r} ({_span(rb)}) on overlapping dates; "
                               f"such mentions resolve to {sa.id!r}")
    return out


def _overlap(a: Role, b: Role) -> bool:
    lo, hi = dt.date.min, dt.date.max
    return (a.start or lo) <= (b.end or hi) and (b.start or lo) <= (a.end or hi)


def _span(role: Role) -> str:
    return f"{role.start or '…'} to {role.end or '…'}"


def select_speakers(registry: Registry, wanted: list[str]) -> set[str]:
    """Map user-given ids, names or aliases to registry ids; unknown ones are an error."""
    ids: set[str] = set()
    for w in wanted:
        hit = None
        for sp in registry.speakers.values():
            if w == sp.id or w.casefold() in {a.casefold() for a in (sp.name, *sp.aliases, *sp.short_names)}:
                hit = sp.id
                break
        if hit is None:
            raise InputError(f"--speakers: {w!r} is not in the registry {registry.source}")
        ids.add(hit)
    return ids


# --- discourse: who has been mentioned, for short names and pronouns ---------------------

_PREPOSITIONS = {"mit", "von", "vom", "an", "am", "gegenüber", "für", "zu", "zum", "zur", "nach", "gegen", "über",
                 "bei", "beim", "vor", "um", "auf", "aus", "in", "im", "dem", "den", "ohne", "trotz", "laut", "gemäß"}
PRONOUN_WORD = re.compile(r"(?<![\wÄÖÜäöüß-])(?:er|Er|sie|Sie)(?![\wÄÖÜäöüß-])")
_PRONOUN_AFTER = re.compile(r"[^\wÄÖÜäöüß-](er|Er|sie|Sie)(?![\wÄÖÜäöüß-])")


_WORDISH = re.compile(r"[\wÄÖÜäöüß-]+")
_WORD_START = re.compile(r"\b")
#: What every NAME_THEN_APPOSITION match holds; the name before it, read backwards (at most three
#: name tokens, two runs of white space); the run of characters its role-noun tail is made of.
_APPOSITION_COMMA = re.compile(r",\s+(?:der|die)\s")
_NAME_BACKWARDS = re.compile(r"[A-Za-zÄÖÜäöüßéèáíóúñçë-]*(?:\s+[A-Za-zÄÖÜäöüßéèáíóúñçë-]*){0,2}")
_TAIL_RUN = re.compile(r"[\w\s-]*")


def role_then_name(text: str) -> Iterator[re.Match[str]]:
    """`ROLE_THEN_NAME.finditer(text)`, the same matches, found from `LEX.ROLE_CANDIDATE`.

    The pattern ("\\b[\\w-]*(?:role nouns)\\s+Name") backtracks through every word of the text
    looking for a role noun at its end; most words hold none. Every match holds a candidate (a role
    noun but its first letter, space, a capital) inside the run of word characters and "-" it
    starts in; the first candidate from `pos` on names a run, and the pattern can only start at the run's first
    word boundary at or after `pos`: an earlier start would be in the run, a later one in the run
    matches from there too (its "[\\w-]*" reaches as far). So one `match` there decides the run,
    and the search goes on after the match, or after the run. tests/test_speakers.py compares."""
    cand = LEX.ROLE_CANDIDATE
    if cand is None:
        yield from ROLE_THEN_NAME.finditer(text)
        return
    pattern, pos = LEX.ROLE_THEN_NAME, 0
    while (c := cand.search(text, pos)) is not None:
        x = c.start()
        run_start, run_end = x, _WORDISH.match(text, x).end()  # type: ignore[union-attr]
        while run_start > pos and _WORDISH.match(text, run_start - 1, run_start):
            run_start -= 1
        start = _WORD_START.search(text, run_start, run_end)
        m = pattern.match(text, start.start()) if start else None
        if m is None:
            pos = run_end
            continue
        yield m
        pos = m.end()


def pronoun_spans(text: str) -> Iterator[tuple[int, int]]:
    """The spans of `PRONOUN_WORD.finditer(text)`, found with the word start consumed.

    PRONOUN_WORD opens with a look-behind the engine tries at every position; `_PRONOUN_AFTER`
    opens with the character that look-behind accepts (a class the engine skips to), so a pronoun
    at x >= 1 is its match at x - 1. None is lost between two: after a pronoun ending at q the
    next cannot start at q (text[q - 1] is a letter), so it starts after a character from q on.
    Only a pronoun at 0 has no character before it: `PRONOUN_WORD.match` finds that one."""
    first = PRONOUN_WORD.match(text)
    if first is not None:
        yield first.span()
    for m in _PRONOUN_AFTER.finditer(text, first.end() if first is not None else 0):
        yield m.span(1)


def name_then_apposition(text: str) -> Iterator[re.Match[str]]:
    """`NAME_THEN_APPOSITION.finditer(text)`, the same matches, searched only around ", der"/", die".

    The pattern ("Name Name, der|die … role noun") is tried at every capital letter. Each match
    holds one comma, at an occurrence of `_APPOSITION_COMMA`: before it the name (name characters
    and white space, at most two runs of it: `_NAME_BACKWARDS` on the reversed text finds the
    furthest it can start), after it word characters, "-" and white space up to the role noun
    (plain letters when `LEX.ROLE_CANDIDATE` exists). So for each comma one search from that
    start, with `endpos` where that run ends, gives the match of that comma: a path cannot read
    the character at `endpos` (no run character) in the whole text either, and no other comma
    lies in the window. Commas come in text order and so do their windows."""
    if LEX.ROLE_CANDIDATE is None:
        yield from NAME_THEN_APPOSITION.finditer(text)
        return
    pattern, pos = LEX.NAME_THEN_APPOSITION, 0
    for comma in _APPOSITION_COMMA.finditer(text):
        c = comma.start()
        lo = max(0, c - 256)
        back = _NAME_BACKWARDS.match(text[lo:c][::-1]).end()  # type: ignore[union-attr]
        if back == c - lo and lo > 0:  # a name longer than the slice: read the whole prefix
            back = _NAME_BACKWARDS.match(text[:c][::-1]).end()  # type: ignore[union-attr]
        end = _TAIL_RUN.match(text, c + 1).end()  # type: ignore[union-attr]
        m = pattern.search(text, max(pos, c - back), end)
        if m is not None:
            yield m
            pos = m.end()


class _Reach:
    """Spans sorted by start with the running maximum of their ends: "does a span starting at or
    before x reach past y" is one bisection, exact for any spans (nested or overlapping ones too)."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.starts = [s for s, _ in ordered]
        self.max_end = list(accumulate((e for _, e in ordered), max))

    def reach(self, k: int) -> int:
        """The furthest end among the first k spans by start (-1 if k is 0)."""
        return self.max_end[k - 1] if k > 0 else -1

    def contains(self, s: int, e: int) -> bool:
        """Some span (a, b) has a <= s and e <= b."""
        return self.reach(bisect_right(self.starts, s)) >= e

    def holds_edge(self, s: int, e: int) -> bool:
        """Some span (a, b) has a <= s < b or a < e <= b."""
        return self.reach(bisect_right(self.starts, s)) > s or self.reach(bisect_left(self.starts, e)) >= e


def _last_ending_by(mentions: list[Mention], starts: list[int], pos: int) -> Mention | None:
    """The last of `mentions` (sorted by start, `starts` theirs) with end <= pos. Mentions of one
    kind barely nest, so the walk back from the last start <= pos skips only the few around pos."""
    for k in range(bisect_right(starts, pos) - 1, -1, -1):
        if mentions[k].end <= pos:
            return mentions[k]
    return None


@dataclass
class Entity:
    """A resolved speaker: registry id, or an unregistered name/mention."""

    key: str
    name: str
    kind: str  # person | organisation | unknown
    speaker_id: str | None = None
    gender: str | None = None


@dataclass
class Mention:
    start: int
    end: int
    text: str
    entity: Entity | None
    method: str
    eligible: bool  # may serve as an antecedent (subject-like, not inside a quote)
    antecedent: tuple[int, int, str] | None = None


class Discourse:
    """Mentions of one article in text order; resolves short names and pronouns backwards.

    Every backward look-up (the latest earlier person holding a surname, the latest eligible
    antecedent of a pronoun, the organisation named before "die Agentur") goes through indexes
    built once per article, so an article of n mentions costs about n log n, not n².
    """

    def __init__(self, text: str, registry: Registry, date: dt.date | None, exclude: list[tuple[int, int]]):
        self.text = text
        self.registry = registry
        self.date = date
        self.exclude = exclude
        self._exclude_reach = _Reach(exclude)
        self.mentions: list[Mention] = []
        self._holders: dict[str, list[str]] = {}
        self._by_sid: dict[str, tuple[list[Mention], list[int]]] | None = None
        self._scan()

    def _excluded(self, s: int, e: int) -> bool:
        return self._exclude_reach.contains(s, e)

    def _after_preposition(self, s: int) -> bool:
        word = word_before(self.text, max(0, s - 30), s, hyphen=True)
        return word is not None and word.lower() in _PREPOSITIONS

    def entity_for_id(self, sid: str) -> Entity:
        sp = self.registry.speakers[sid]
        return Entity(sid, sp.name, sp.kind, sid, sp.gender)

    def _scan(self) -> None:
        text = self.text
        found: dict[tuple[int, int], Mention] = {}
        matches = self.registry.matches(text)
        for rm in matches:
            sid, method = rm.resolve(self.registry, self.date)
            if sid is None and rm.short_ids:
                continue  # bare surnames are resolved lazily, against what came before
            if sid is None:
                continue
            sp = self.registry.speakers[sid]
            if sp.kind == "organisation" and method == "role":
                continue  # "die Nachrichtenagentur" needs an antecedent; handled in resolve()
            ent = self.entity_for_id(sid)
            eligible = not rm.genitive and not self._after_preposition(rm.start) and not self._excluded(rm.start, rm.end)
            found[(rm.start, rm.end)] = Mention(rm.start, rm.end, rm.text, ent, method, eligible)
        for finder in (role_then_name, name_then_apposition):
            # What this pattern adds can never hold an edge of its own later matches (they start
            # after the match that added it ends), so the mentions found before it decide alone.
            before = _Reach(list(found))
            for m in finder(text):
                s, e = m.span("name")
                if before.holds_edge(s, e):
                    continue
                name = m.group("name")
                ent = Entity(f"name:{name}", name, "person")
                eligible = not self._after_preposition(m.start()) and not self._excluded(s, e)
                found[(s, e)] = Mention(s, e, name, ent, "mention", eligible)
        for span in pronoun_spans(text):
            if span not in found:
                found[span] = Mention(span[0], span[1], text[span[0]:span[1]], None, "pronoun", not self._excluded(*span))
        self.mentions = sorted(found.values(), key=lambda mn: mn.start)
        self._index_names()
        self._scan_short_names(matches)

    def _index_names(self) -> None:
        """Once the names are found: per token, the earlier persons a bare surname may name (in
        text order), and the name words of unregistered people (a clash for registry short names).
        Short names and pronouns added later only ever point at these entities, so both stay valid."""
        self._named: dict[str, tuple[list[Mention], list[int]]] = {}
        self._clash_words: set[str] = set()
        for mn in self.mentions:
            ent = mn.entity
            if ent is None:
                continue
            if ent.speaker_id is None:
                self._clash_words.update(ent.name.split())
            if ent.kind != "person" or mn.method in ("pronoun", "short"):
                continue
            names = {ent.name}
            if ent.speaker_id:
                sp = self.registry.speakers[ent.speaker_id]
                names |= set(sp.aliases) | set(sp.short_names)
            for token in names | {w for n in names for w in n.replace("-", " ").split()}:
                held = self._named.setdefault(token, ([], []))
                held[0].append(mn)
                held[1].append(mn.start)

    def _scan_short_names(self, matches: list[RegistryMatch]) -> None:
        # A short name found here never lies inside another (registry matches do not overlap), so
        # the mentions before this loop decide whether one is part of a longer name.
        longer = _Reach([(m.start, m.end) for m in self.mentions])
        for rm in matches:
            sid, _ = rm.resolve(self.registry, self.date)
            if sid is not None or not rm.short_ids:
                continue
            if longer.contains(rm.start, rm.end):
                continue  # part of a longer name already found ("Kim" in "Kim Son Gyong")
            ent, ante = self.resolve_short(rm.text if not rm.genitive else rm.text[:-1], rm.start)
            if ent is None:
                continue
            eligible = not rm.genitive and not self._after_preposition(rm.start) and not self._excluded(rm.start, rm.end)
            self.mentions.append(Mention(rm.start, rm.end, rm.text, ent, "short", eligible,
                                         (ante.start, ante.end, ante.text) if ante else None))
        self.mentions.sort(key=lambda mn: mn.start)
        self._resolve_pronouns()

    def _resolve_pronouns(self) -> None:
        """Resolve pronouns in text order, once surnames count as antecedents too, so chains
        ("er … er") follow through. One sweep keeps the latest eligible person per pronoun gender
        among the mentions before the current one (all final by then); the same running values,
        kept per mention, answer `antecedent_for_pronoun` afterwards."""
        ms = self.mentions
        latest: dict[str | None, Mention | None] = {"m": None, "f": None, None: None}
        self._starts = [mn.start for mn in ms]
        self._antecedents: dict[str | None, list[Mention | None]] = {want: [] for want in latest}
        done = 0
        for mn in ms:
            while ms[done].start < mn.start:  # stops at mn itself at the latest
                self._count_antecedent(ms[done], latest)
                done += 1
            if mn.method == "pronoun":
                ante = latest[PRONOUNS.get(mn.text)]
                if ante is not None:
                    mn.entity = ante.entity
                    mn.antecedent = ante.antecedent or (ante.start, ante.end, ante.text)
        for mn in ms[done:]:
            self._count_antecedent(mn, latest)

    def _count_antecedent(self, mn: Mention, latest: dict[str | None, Mention | None]) -> None:
        ent = mn.entity
        if mn.eligible and ent is not None and ent.kind == "person":
            latest[None] = mn
            if ent.gender in (None, "m"):
                latest["m"] = mn
            if ent.gender == "f":
                latest["f"] = mn
        for want, best in latest.items():
            self._antecedents[want].append(best)

    def resolve_short(self, token: str, pos: int) -> tuple[Entity | None, Mention | None]:
        """A bare surname names the latest earlier person whose full name holds it."""
        held = self._named.get(token)
        mn = _last_ending_by(*held, pos) if held else None
        if mn is not None:
            return mn.entity, mn
        if token not in self._holders:
            self._holders[token] = [sid for sid, sp in self.registry.speakers.items() if token in sp.short_names]
        holders = self._holders[token]
        if len(holders) == 1 and token not in self._clash_words:
            return self.entity_for_id(holders[0]), None
        return None, None

    def antecedent_for_pronoun(self, pos: int, pronoun: str) -> Mention | None:
        """The latest eligible person before pos whose gender fits the pronoun."""
        k = bisect_left(self._starts, pos)
        return self._antecedents[PRONOUNS.get(pronoun)][k - 1] if k > 0 else None

    def _latest_of(self, sid: str, pos: int) -> Mention | None:
        """The latest mention ending by pos whose entity is registry speaker sid."""
        if self._by_sid is None:
            self._by_sid = {}
            for mn in self.mentions:
                if mn.entity and mn.entity.speaker_id is not None:
                    held = self._by_sid.setdefault(mn.entity.speaker_id, ([], []))
                    held[0].append(mn)
                    held[1].append(mn.start)
        held = self._by_sid.get(sid)
        return _last_ending_by(*held, pos) if held else None

    def resolve(self, start: int, end: int) -> Mention:
        """Resolve a frame's speaker mention text[start:end]."""
        text = self.text[start:end]
        if PRONOUN_WORD.fullmatch(text):
            ante = self.antecedent_for_pronoun(start, text)
            if ante is None:
                return Mention(start, end, text, None, "pronoun", True)
            return Mention(start, end, text, ante.entity, "pronoun", True,
                           ante.antecedent or (ante.start, ante.end, ante.text))
        best: Mention | None = None
        rank = {"name": 0, "alias": 1, "metonymy": 2, "role": 3}
        for rm in self.registry.matches(self.text, start, end):
            sid, method = rm.resolve(self.registry, self.date)
            if sid is not None:
                sp = self.registry.speakers[sid]
                if sp.kind == "organisation" and len(rm.text) < 0.6 * len(_strip_det(text)):
                    continue  # "Beamte aus Washington, Seoul und Kiew" is not Washington itself
                if sp.kind == "organisation" and method == "role":
                    # "die Nachrichtenagentur": only an organisation already named in the article.
                    prior = self._latest_of(sid, start)
                    if prior is None:
                        continue
                    cand = Mention(start, end, text, prior.entity, "role", True, (prior.start, prior.end, prior.text))
                else:
                    cand = Mention(start, end, text, self.entity_for_id(sid), method, True)
                if best is None or rank.get(cand.method, 9) < rank.get(best.method, 9):
                    best = cand
            elif rm.short_ids and best is None and not _inside_longer_name(self.text, rm, start, end):
                ent, ante = self.resolve_short(rm.text, rm.start)
                if ent is not None:
                    best = Mention(start, end, text, ent, "alias", True,
                                   (ante.start, ante.end, ante.text) if ante else None)
        if best is not None and best.method in ("name", "alias", "metonymy"):
            return best
        # An unregistered name inside the mention ("Avril Haines, die Direktorin …").
        m = _unregistered_name(self.text, start, end) if best is None else None
        if m is not None:
            name = m.group("name")
            return Mention(start, end, text, Entity(f"name:{name}", name, "person"), "mention", True)
        if best is not None:
            return best
        m = PERSON_NAME.fullmatch(_strip_det(text))
        if m and not ORG_HEAD.search(text):
            name = m.group()
            return Mention(start, end, text, Entity(f"name:{name}", name, "person"), "mention", True)
        kind = "organisation" if ORG_HEAD.search(text) else "unknown"
        return Mention(start, end, text, Entity(f"mention:{text}", text, kind), "mention", True)


def _may_match(pattern: re.Pattern[str], text: str, start: int, end: int) -> bool:
    """False when `pattern` (ROLE_THEN_NAME or NAME_THEN_APPOSITION) cannot match in text[start:end]:
    every ROLE_THEN_NAME match holds a `LEX.ROLE_CANDIDATE` match (see `role_then_name`), which
    has no look-around, and every NAME_THEN_APPOSITION match holds a comma. Both scans are cheaper
    than the pattern, which backtracks through each word of the mention."""
    if pattern is LEX.NAME_THEN_APPOSITION:
        return text.find(",", start, end) >= 0
    cand = LEX.ROLE_CANDIDATE
    return cand is None or cand.search(text, start, end) is not None


def _unregistered_name(text: str, start: int, end: int) -> re.Match[str] | None:
    """The first of ROLE_THEN_NAME and NAME_THEN_APPOSITION that matches in text[start:end]."""
    for pattern in (LEX.ROLE_THEN_NAME, LEX.NAME_THEN_APPOSITION):
        m = pattern.search(text, start, end) if _may_match(pattern, text, start, end) else None
        if m is not None:
            return m
    return None


def _inside_longer_name(text: str, rm: RegistryMatch, start: int, end: int) -> bool:
    """"Kim" in "Kim Son Gyong": a bare surname that is part of a longer unregistered name."""
    for pattern in (LEX.ROLE_THEN_NAME, LEX.NAME_THEN_APPOSITION):
        for m in (pattern.finditer(text, start, end) if _may_match(pattern, text, start, end) else ()):
            s, e = m.span("name")
            if s <= rm.start and rm.end <= e and (e - s) > (rm.end - rm.start):
                return True
    return False


_DET_START = re.compile(r"^(?:[Dd]er|[Dd]ie|[Dd]as|[Dd]em|[Dd]en|[Dd]es)\s+")


def _strip_det(text: str) -> str:
    return _DET_START.sub("", text.strip())
