"""Label Studio at scale: `qst push`, re-push, `pull`, `import` and `agreement` beside a raw import.

    PYTHONPATH=$PWD .venv/bin/python scripts/bench_labelstudio.py --tasks 100000 [--annotators 2]

Starts its own local server (tests/ls_server.py: free port, temporary data dir, random token),
generates N synthetic quotes (German-looking text, ~1.1 KB per task like real ones), and runs,
each as a real `qst` subprocess (wall seconds, CPU seconds of the process and of the server, peak
RSS from wait4):

1. raw import: the task file from `qst export` POSTed whole to a fresh project (the baseline);
2. `qst push` of the same quotes into that raw-imported project: it adds nothing, has no local
   record of the project yet, so it reads every task (and writes the record);
3. `qst push` into it again: with the record it reads only tasks new or updated since;
4. `qst push --full-read` into it: every task read again, side by side with 2 and 3;
5. `qst push` of the same quotes into another fresh project (all new), and `qst push` again;
6. `qst pull` of that project (export snapshot);
7. `qst import` of an export with `--annotators` annotations per task (made from the pulled
   snapshot by adding synthetic annotations offline), peak RSS against the file size;
8. `qst agreement` on the resulting annotation table.

`--steps` runs only some of them (names in STEPS). The local task records go to WORK/cache
(QST_CACHE_DIR). With a running server (QST_LS_TEST_URL, QST_LS_TEST_TOKEN, QST_LS_TEST_DATA_DIR)
and `--keep WORK`, a later run can go on where an earlier one stopped: e.g. `--steps export,raw`,
then `--steps push-raw,repush-raw,full-read`; the table then shows the earlier rows too (kept in
WORK/rows.json), all against the same server and project.

The table goes to stdout (and --json if given). The server is stopped at the end, also on error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

WORDS = ("Russland Nordkorea Zusammenarbeit militärische Kim Putin Sanktionen verurteilt begrüßt warnt "
         "Partnerschaft Halbinsel Stabilität Regierung Sprecher Außenministerium erklärte sagte betonte "
         "„Wir“ Frieden Gefahr Moskau Pjöngjang Waffen Lieferungen Munition Raketen Abkommen Gipfel").split()
STANCES = ("favor", "against", "neutral", "unclear")


def make_quotes(n: int, path: Path, seed: int = 7) -> None:
    """N synthetic quotes with stable ids (q_ + 16 hex of sha256("bench:i"))."""
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            qid = "q_" + hashlib.sha256(f"bench:{i}".encode()).hexdigest()[:16]
            text = " ".join(rnd.choice(WORDS) for _ in range(18))
            ctx = " ".join(rnd.choice(WORDS) for _ in range(40))
            f.write(json.dumps({"quote_id": qid, "article_id": f"a_{i // 10:06d}", "text": text, "context": ctx,
                                "type": "direct", "speaker": "Matthew Miller", "speaker_id": "matthew_miller",
                                "speaker_mention": "Miller", "confidence": 0.9, "article_date": "2024-06-21"},
                               ensure_ascii=False) + "\n")


def annotate_export(snapshot: Path, out: Path, annotators: int, seed: int = 11) -> int:
    """Add `annotators` synthetic submitted annotations to every task of a pulled snapshot."""
    rnd = random.Random(seed)
    tasks = json.loads(snapshot.read_bytes())
    aid = 0
    for task in tasks:
        base = rnd.choice(STANCES)
        task["annotations"] = []
        for user in range(1, annotators + 1):
            aid += 1
            label = base if rnd.random() < 0.7 else rnd.choice(STANCES)
            task["annotations"].append({
                "id": aid, "completed_by": {"id": user, "email": f"a{user}@example.com"},
                "result": [{"from_name": "stance", "to_name": "quote", "type": "choices", "value": {"choices": [label]}},
                           {"from_name": "speaker_review", "to_name": "quote", "type": "choices",
                            "value": {"choices": ["confirmed"]}}],
                "was_cancelled": False, "ground_truth": False, "lead_time": round(rnd.uniform(2, 30), 3),
                "created_at": "2026-01-01T10:00:00.000000Z", "updated_at": "2026-01-01T10:00:00.000000Z",
                "prediction": {}, "result_count": 2})
    out.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    del tasks
    return aid


def annotate_apart(snapshot: Path, out: Path, annotators: int) -> int:
    """`annotate_export` in a child process, so this process never holds the parsed snapshot.

    Why: a child's peak RSS (ru_maxrss from wait4) starts at its parent's RSS at fork time. At 100k
    tasks this process held ~2 GB right after building the export, and `qst import` and
    `qst agreement` were both reported at 2,060 MB, which was this process, not theirs.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(annotate_export, snapshot, out, annotators).result()


def server_cpu(server: Any) -> float:
    """CPU seconds of the Label Studio server process so far (user + system, all threads)."""
    pid = int((server.data_dir / "server.pid").read_text())
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(cmd: list[str], env: dict[str, str], server: Any | None = None) -> dict[str, Any]:
    """Run one command; wall s, its own CPU s and peak RSS MB (wait4), and the server's CPU s meanwhile."""
    s0 = server_cpu(server) if server else 0.0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{stdout[-2000:]}\n{stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "server_cpu_s": (server_cpu(server) - s0) if server else 0.0, "stderr": stderr, "stdout": stdout}


def raw_import(server: Any, task_file: Path, title: str, label_config: str) -> dict[str, Any]:
    """The baseline: one POST of the whole task file to a fresh project, as a script would do it."""
    import httpx

    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Token {server.token}"}, timeout=7200)
    project = client.post("/api/projects", json={"title": title, "label_config": label_config}).json()
    body = task_file.read_bytes()
    s0, t0 = server_cpu(server), time.monotonic()
    r = client.post(f"/api/projects/{project['id']}/import", content=body, headers={"Content-Type": "application/json"})
    res = {"wall_s": time.monotonic() - t0, "server_cpu_s": server_cpu(server) - s0}
    r.raise_for_status()
    res["n"] = r.json()["task_count"]
    return res


class _Rows(list):
    """The table's rows; each is also printed to stderr when its step ends, so a run stopped
    half-way (a 100k run takes most of an hour on a loaded machine) still leaves its figures."""

    def append(self, row: dict[str, Any]) -> None:
        super().append(row)
        shown = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items() if k not in ("stderr", "stdout")}
        print(f"[{time.strftime('%H:%M:%S')}] {json.dumps(shown, ensure_ascii=False)}", file=sys.stderr, flush=True)


#: Step names for --steps, in the order they run.
STEPS = ("export", "raw", "push-raw", "repush-raw", "full-read", "push", "repush", "pull", "import", "agreement")
READ_RE = re.compile(r"read (\d+) task\(s\) back from the server \((incremental|full)")


def push_row(step: str, n: int, cmd: list[str], env: dict[str, str], server: Any) -> dict[str, Any]:
    """One `qst push` row, with the task rows it read back and how (from its summary line)."""
    res = run(cmd, env, server)
    found = READ_RE.search(" ".join(res["stderr"].split()))
    return {"step": step, "n": n, **res, "tasks_read": int(found.group(1)) if found else None,
            "read": found.group(2) if found else None}


def measure(n: int, annotators: int, work: Path, server: Any, steps: tuple[str, ...] = STEPS) -> list[dict[str, Any]]:
    """The chosen steps against one server; rows of the table in order (earlier rows of WORK first)."""
    py = [sys.executable, "-m", "toolkit.cli"]
    env = dict(os.environ, LABEL_STUDIO_URL=server.url, LABEL_STUDIO_API_KEY=server.token, QST_CACHE_DIR=str(work / "cache"),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    quotes, tasks, config = work / "quotes.jsonl", work / "tasks.json", work / "config.xml"
    saved = work / "rows.json"
    rows = _Rows()
    if "export" in steps:
        make_quotes(n, quotes)
        rows.append({"step": "qst export (quotes -> task file)", "n": n, **run([*py, "export", quotes, "--out", tasks, "--rule", "lexicon"], env)})
        run([*py, "ls-config", "--out", config], env)
    elif saved.exists():
        list.extend(rows, json.loads(saved.read_text()))
    if "raw" in steps:
        rows.append({"step": "raw import (one POST of the task file)", **raw_import(server, tasks, "bench raw", config.read_text())})
    push = [*py, "push", quotes, "--rule", "lexicon"]
    for step, title, label, extra in (
            ("push-raw", "bench raw", "qst push into the raw-imported project (no record: full read)", []),
            ("repush-raw", "bench raw", "qst push into it again (with the record)", []),
            ("full-read", "bench raw", "qst push into it again --full-read", ["--full-read"]),
            ("push", "bench", "qst push (all new)", []),
            ("repush", "bench", "qst push again (adds nothing)", [])):
        if step in steps:
            rows.append(push_row(label, n, [*push, "-p", title, *extra], env, server))
    _save(saved, rows)
    rows += _annotation_steps(py, env, work, server, n, annotators, steps)
    _save(saved, rows)
    return rows


def _save(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps([{k: v for k, v in r.items() if k not in ("stderr", "stdout")} for r in rows], indent=2),
                    encoding="utf-8")


def _annotation_steps(py: list[str], env: dict[str, str], work: Path, server: Any, n: int, annotators: int,
                      steps: tuple[str, ...]) -> list[dict[str, Any]]:
    """pull, import, agreement (those of them chosen)."""
    rows = _Rows()
    snap, export = work / "pulled.json", work / "export.json"
    if "pull" in steps:
        rows.append({"step": "qst pull (export snapshot)", "n": n,
                     **run([*py, "pull", "-p", "bench", "--out", snap], env, server)})
    if "import" in steps:
        n_ann = annotate_apart(snap, export, annotators)
        size_mb = export.stat().st_size / 2**20
        rows.append({"step": f"qst import ({size_mb:.0f} MB export)", "n": n_ann, "file_mb": size_mb,
                     **run([*py, "import", export, "--out", work / "table"], env)})
    if "agreement" in steps:
        rows.append({"step": "qst agreement", "n": rows[-1]["n"] if rows else None,
                     **run([*py, "agreement", work / "table.parquet", "--out", work / "agreement"], env)})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table; ratios against the raw import measured in the same run (or the same --keep WORK)."""
    raw = next((r for r in rows if r["step"].startswith("raw import")), None)
    lines = ["| step | items | tasks read | wall s | qst CPU s | server CPU s | peak RSS MB | wall / raw import |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        rss = f"{r['peak_rss_mb']:.0f}" + (f" ({r['peak_rss_mb'] / r['file_mb']:.1f}x file)" if "file_mb" in r else "") \
            if "peak_rss_mb" in r else "–"
        read = f"{r['tasks_read']} ({r['read']})" if r.get("tasks_read") is not None else ""
        ratio = f"{r['wall_s'] / raw['wall_s']:.2f}" if raw else ""
        lines.append(f"| {r['step']} | {r.get('n') or ''} | {read} | {r['wall_s']:.1f} | {r.get('cpu_s', 0):.1f} | "
                     f"{r.get('server_cpu_s', 0):.1f} | {rss} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--annotators", type=int, default=2, help="annotations per task in the import/agreement steps")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    ap.add_argument("--steps", default=",".join(STEPS), help=f"steps to run, comma-separated, of: {','.join(STEPS)}")
    args = ap.parse_args()
    steps = tuple(x.strip() for x in args.steps.split(",") if x.strip())
    if unknown := [x for x in steps if x not in STEPS]:
        ap.error(f"--steps: unknown {', '.join(unknown)}; known: {', '.join(STEPS)}")
    from ls_server import LSServer, start_server, stop

    if os.environ.get("QST_LS_TEST_URL"):  # a server already running (development); not stopped
        url = os.environ["QST_LS_TEST_URL"]
        server = LSServer(url=url, port=int(url.rsplit(":", 1)[1]), token=os.environ["QST_LS_TEST_TOKEN"],
                          username="", password="", data_dir=Path(os.environ["QST_LS_TEST_DATA_DIR"]))
    else:
        server = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="qst-lsbench-") as tmp:
            work = args.keep or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            rows = measure(args.tasks, args.annotators, work, server, steps)
    finally:
        if not os.environ.get("QST_LS_TEST_URL"):
            stop(server)
    print(f"Label Studio bench: {args.tasks} tasks, {args.annotators} annotations per task, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(table(rows))
    if args.json:
        _save(args.json, rows)


if __name__ == "__main__":
    main()
