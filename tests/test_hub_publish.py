"""qst publish: the real huggingface_hub upload path against a local Hub-like HTTP server.

The server below speaks the part of the Hub API that HfApi.create_repo + create_commit use
(repos/create, validate-yaml, preupload, the git-LFS batch API with basic transfer, commit,
revision info), keeps what was committed, and records every request so the tests can assert
exactly what reached it. Xet is switched off (HF_HUB_DISABLE_XET) because its storage protocol
needs the Hub's CAS service; LFS is the Hub's other, still supported, transfer path.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from toolkit.dataset import build as hub, publish as hub_publish
from toolkit.errors import InputError, ToolkitError

FIX = Path(__file__).parent / "fixtures" / "hub"
TOKEN = "hf_test_0123456789abcdefSECRET"


class FakeHub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.repos: dict[str, dict] = {}  # "dataset:org/name" -> {private, files{path: bytes}, head}
        self.lfs: dict[str, bytes] = {}  # sha256 -> content (the LFS object store)
        self.requests: list[dict] = []
        self.fail_commits = 0
        self.lock = threading.Lock()


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    server: FakeHub

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, obj: dict | None = None, error: str | None = None):
        body = json.dumps(obj if obj is not None else {"error": error}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if error:
            self.send_header("X-Error-Message", error)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str):
        body = self._body()
        path = self.path.split("?")[0]
        s = self.server
        with s.lock:
            s.requests.append({"method": method, "path": path, "auth": self.headers.get("Authorization"),
                               "size": len(body)})
        if path.startswith("/_lfs/"):  # pre-signed storage URL: no Hub auth, like S3
            return self._lfs_storage(method, path, body)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, error="Invalid credentials in Authorization header")
        routes = [
            ("POST", r"/api/repos/create", self._create),
            ("POST", r"/api/validate-yaml", self._validate_yaml),
            ("POST", r"/api/datasets/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)", self._preupload),
            ("POST", r"/datasets/(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", self._lfs_batch),
            ("POST", r"/api/datasets/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)", self._commit),
            ("GET", r"/api/datasets/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)", self._revision),
        ]
        for m, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if m == method and match:
                return fn(body, **match.groupdict())
        return self._send(404, error=f"no route {method} {path}")

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def _repo(self, repo: str) -> dict | None:
        return self.server.repos.get(f"dataset:{repo}")

    def _create(self, body: bytes):
        p = json.loads(body)
        assert p["type"] == "dataset"
        key = f"dataset:{p['organization']}/{p['name']}"
        url = f"{self.server.base}/datasets/{p['organization']}/{p['name']}"
        if key in self.server.repos:
            return self._send(409, {"error": "You already created this dataset repo", "url": url})
        self.server.repos[key] = {"private": p.get("visibility") == "private", "files": {},
                                  "head": "0" * 40, "commits": []}
        return self._send(200, {"url": url, "name": f"{p['organization']}/{p['name']}"})

    def _validate_yaml(self, body: bytes):
        content = json.loads(body)["content"]
        try:
            meta = yaml.safe_load(content.split("---\n")[1])
            assert isinstance(meta, dict)
        except Exception as exc:  # noqa: BLE001 - report any YAML problem as the Hub does
            return self._send(400, {"errors": [{"message": str(exc)}]})
        return self._send(200, {"errors": [], "warnings": []})

    def _preupload(self, body: bytes, repo: str, rev: str):
        r = self._repo(repo)
        if r is None:
            return self._send(404, error="Repository not found")
        out = []
        for f in json.loads(body)["files"]:
            lfs = f["path"].endswith(".parquet")  # the Hub's default .gitattributes: *.parquet is LFS
            have = r["files"].get(f["path"])
            oid = None if have is None else (hashlib.sha256(have).hexdigest() if lfs else _git_sha1(have))
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
        return self._send(200, {"files": out, "commitOid": r["head"]})

    def _lfs_batch(self, body: bytes, repo: str):
        objects = []
        for o in json.loads(body)["objects"]:
            if o["oid"] in self.server.lfs:
                objects.append({"oid": o["oid"], "size": o["size"]})  # already stored: no actions
            else:
                href = f"{self.server.base}/_lfs/{o['oid']}"
                objects.append({"oid": o["oid"], "size": o["size"], "authenticated": True,
                                "actions": {"upload": {"href": href}, "verify": {"href": href + "/verify"}}})
        return self._send(200, {"transfer": "basic", "objects": objects})

    def _lfs_storage(self, method: str, path: str, body: bytes):
        oid = path.split("/")[2]
        if method == "PUT":
            if hashlib.sha256(body).hexdigest() != oid:
                return self._send(400, error="sha256 mismatch")
            self.server.lfs[oid] = body
            return self._send(200, {})
        if path.endswith("/verify"):
            return self._send(200 if oid in self.server.lfs else 404, {} if oid in self.server.lfs else None,
                              None if oid in self.server.lfs else "object missing")
        return self._send(404, error="no route")

    def _commit(self, body: bytes, repo: str, rev: str):
        r = self._repo(repo)
        if r is None:
            return self._send(404, error="Repository not found")
        if self.server.fail_commits > 0:
            self.server.fail_commits -= 1
            return self._send(500, error="Internal Error - We're working hard to fix this as soon as possible!")
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header, ops = lines[0], lines[1:]
        assert header["key"] == "header"
        staged = {}
        for op in ops:
            v = op["value"]
            if op["key"] == "file":
                staged[v["path"]] = base64.b64decode(v["content"])
            elif op["key"] == "lfsFile":
                if v["oid"] not in self.server.lfs:
                    return self._send(400, error=f"LFS object {v['oid']} was never uploaded")
                staged[v["path"]] = self.server.lfs[v["oid"]]
            else:
                return self._send(400, error=f"unsupported op {op['key']}")
        r["files"].update(staged)
        r["head"] = hashlib.sha1(json.dumps(sorted((k, _git_sha1(v)) for k, v in r["files"].items())).encode()).hexdigest()
        r["commits"].append({"summary": header["value"]["summary"], "paths": sorted(staged)})
        return self._send(200, {"commitUrl": f"{self.server.base}/datasets/{repo}/commit/{r['head']}",
                                "commitOid": r["head"], "pullRequestUrl": None})

    def _revision(self, body: bytes, repo: str, rev: str):
        r = self._repo(repo)
        if r is None:
            return self._send(404, error="Repository not found")
        return self._send(200, {"id": repo, "sha": r["head"], "private": r["private"],
                                "siblings": [{"rfilename": p} for p in sorted(r["files"])]})


@pytest.fixture
def fake_hub(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # another test module may have set it
    server = FakeHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pub") / "ds"
    hub.build(FIX / "quotes.jsonl", FIX / "adjudicated.jsonl", out, annotations_path=FIX / "annotations.jsonl",
              guidelines_path=FIX / "guidelines.md")
    return out


def _local_files(folder: Path) -> dict[str, bytes]:
    # hidden files (the toolkit's .qst-output.json marker) are never uploaded
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def _cli(args: list[str], env: dict[str, str]):
    from toolkit.cli import app

    return CliRunner().invoke(app, args, env=env, catch_exceptions=True)


def test_upload_creates_repo_and_commits_every_file(fake_hub, folder, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = _cli(["publish", str(folder), "--repo-id", "my-lab/quote-stance", "--private", "--endpoint", fake_hub.base],
                  env={"HF_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    repo = fake_hub.repos["dataset:my-lab/quote-stance"]
    assert repo["private"] is True
    assert repo["files"] == _local_files(folder)  # byte-identical copy of the folder
    assert len(repo["commits"]) == 1
    calls = [(r["method"], r["path"]) for r in fake_hub.requests]
    assert calls[0] == ("POST", "/api/repos/create")
    assert ("POST", "/api/validate-yaml") in calls
    assert ("POST", "/datasets/my-lab/quote-stance.git/info/lfs/objects/batch") in calls
    assert sum(1 for m, p in calls if m == "PUT" and p.startswith("/_lfs/")) == 3  # the three parquet files
    assert calls[-1] == ("POST", "/api/datasets/my-lab/quote-stance/commit/main")
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in fake_hub.requests if not r["path"].startswith("/_lfs/"))
    assert TOKEN not in result.output and "committed 5 file(s)" in " ".join(result.output.split())

    # publishing the same folder again changes nothing and creates no commit
    again = hub_publish.publish(folder, "my-lab/quote-stance", token=TOKEN, endpoint=fake_hub.base)
    assert again.committed == [] and sorted(again.unchanged) == sorted(_local_files(folder))
    assert len(repo["commits"]) == 1


def test_commit_failure_reports_state_and_rerun_finishes(fake_hub, folder):
    fake_hub.fail_commits = 1
    with pytest.raises(ToolkitError) as err:
        hub_publish.publish(folder, "my-lab/retry", token=TOKEN, endpoint=fake_hub.base)
    msg = str(err.value)
    assert "HTTP 500" in msg and "nothing was committed" in msg and "re-run the same `qst publish`" in msg
    for split in ("train", "validation", "test"):
        assert f"data/{split}-00000-of-00001.parquet" in msg.split("large files already transferred")[1]
    assert TOKEN not in msg
    repo = fake_hub.repos["dataset:my-lab/retry"]
    assert repo["files"] == {} and repo["commits"] == []
    puts_before = sum(1 for r in fake_hub.requests if r["method"] == "PUT")
    assert puts_before == 3

    done = hub_publish.publish(folder, "my-lab/retry", token=TOKEN, endpoint=fake_hub.base)
    assert sorted(done.committed) == sorted(_local_files(folder))
    assert repo["files"] == _local_files(folder)
    assert sum(1 for r in fake_hub.requests if r["method"] == "PUT") == puts_before  # blobs not sent again


def test_dry_run_lists_files_and_uploads_nothing(fake_hub, folder):
    result = _cli(["publish", str(folder), "--repo-id", "my-lab/x", "--dry-run", "--endpoint", fake_hub.base],
                  env={"HF_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"{fake_hub.base}/datasets/my-lab/x" in text
    for rel, data in _local_files(folder).items():
        assert rel in result.output and hashlib.sha256(data).hexdigest() in result.output
        assert str(len(data)) in result.output
    assert "token found (HF_TOKEN)" in text and TOKEN not in result.output
    assert fake_hub.requests == []


def test_bad_repo_id(folder):
    for bad in ("quote-stance", "a/b/c", "/name", "org/", "org/na me"):
        with pytest.raises(InputError, match="expected ORG/NAME"):
            hub_publish.validate_repo_id(bad)
    assert hub_publish.validate_repo_id("my-lab/quote_stance.v1") == "my-lab/quote_stance.v1"


def test_missing_token_says_how_to_provide_one(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # no saved login there
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "stored_tokens"))
    with pytest.raises(ToolkitError, match="no Hugging Face token: set HF_TOKEN.*hf auth login"):
        hub_publish.resolve_token()


def test_wrong_token_is_reported_without_leaking_it(fake_hub, folder):
    with pytest.raises(ToolkitError, match="HTTP 401.*token valid") as err:
        hub_publish.publish(folder, "my-lab/y", token="hf_wrong_SECRET", endpoint=fake_hub.base)
    assert "hf_wrong_SECRET" not in str(err.value)


def test_refuses_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InputError, match="not a dataset folder"):
        hub_publish.plan_upload(tmp_path)


def test_refuses_folder_with_an_empty_split(folder, tmp_path):
    """A consistent card but a 0-row split (e.g. built by hand): say which split and how to fix it."""
    import datasets
    from huggingface_hub import DatasetCard

    copy = tmp_path / "ds"
    import shutil

    shutil.copytree(folder, copy)
    test_file = copy / "data" / "test-00000-of-00001.parquet"
    ds = datasets.Dataset.from_parquet(str(test_file), cache_dir=str(tmp_path / "cache"))
    ds.select([]).to_parquet(str(test_file))
    card = DatasetCard.load(copy / "README.md")
    for split in card.data["dataset_info"]["splits"]:
        if split["name"] == "test":
            split["num_examples"] = 0
    card.save(copy / "README.md")
    hub.check_card(copy)  # card and parquet agree ...
    with pytest.raises(InputError, match="split 'test' is empty; rebuild the folder .* more articles"):
        hub_publish.plan_upload(copy)  # ... but an empty split is not published


def test_unreachable_endpoint(folder, monkeypatch):
    import socket

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # a real connection attempt, not offline mode

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ToolkitError, match=f"cannot reach http://127.0.0.1:{port}.*re-run"):
        hub_publish.publish(folder, "my-lab/z", token=TOKEN, endpoint=f"http://127.0.0.1:{port}")
