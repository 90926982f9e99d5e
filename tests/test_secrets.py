"""No API key, token or URL password ever reaches the terminal or a file (toolkit.redact).

The real `qst push`, `qst pull` and `qst publish` run in child processes against a local echo
server on 127.0.0.1 that answers 401 or 500 with a body of several KB holding every request
header (so the `Authorization` header with the key), the URL and the request body. The pieces
of text that matter are placed so that the toolkit's 400-character cut falls inside the key,
or the server itself cuts its body inside the key. The test then looks for EVERY 6-character
window of each secret in stdout, stderr and every file under the test's folder (HOME, HF_HOME
and TMPDIR point there). It also checks that the server did receive the secret, so a run in
which the secret never travelled cannot pass.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from toolkit import redact as rd

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
CUT = 400  # what the toolkit shows of a server's body
SIGNING_KEY = "test-signing-key-of-the-echo-server-0123456789"  # signs the JWTs; not a secret


def _random(n: int, prefix: str = "") -> str:
    rng = random.SystemRandom()
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def windows(secret: str, size: int = rd.WINDOW) -> list[str]:
    return [secret[i:i + size] for i in range(len(secret) - size + 1)]


def leaks(text: str, secrets: list[str]) -> list[str]:
    """Every 6-character window of a secret that occurs in `text`."""
    return [w for s in secrets for w in windows(s) if w in text]


# ----------------------------------------------------------------------------- the helper

def test_redact_removes_whole_secrets_and_every_piece_of_them() -> None:
    key = _random(24)
    text = f"a {key} b {key[:19]} c {key[7:15]} d {key[-6:]} e {key[3:8]} f"
    out = rd.redact(text, [key])
    assert leaks(out, [key]) == []
    assert out == f"a *** b *** c *** d *** e {key[3:8]} f"  # 5 characters are no longer the key's
    assert rd.redact("nothing secret here", [key]) == "nothing secret here"
    assert rd.redact("", [key]) == "" and rd.redact("x", [None, ""]) == "x"


def test_redact_masks_url_userinfo_everywhere() -> None:
    assert rd.redact_url("http://user:pw@host:8080/api") == "http://***@host:8080/api"
    assert rd.redact_url("see 'https://tok@h/x' and HTTP://a:b@c") == "see 'https://***@h/x' and HTTP://***@c"
    assert rd.redact_url("http://us:p@ss@host/p") == "http://***@host/p"  # a raw '@' in the password
    assert rd.redact_url('{"url":"http://h:1/a","mail":"a@b.c"}') == '{"url":"http://h:1/a","mail":"a@b.c"}'
    assert rd.redact_url("mail me: a@b.c, http://127.0.0.1:80/x") == "mail me: a@b.c, http://127.0.0.1:80/x"
    password = _random(16, "pw-")
    # the password, decoded and as Basic auth carries it, is a secret in free text too
    assert set(rd.url_secrets(f"http://me:{password}@h")) == {
        password, base64.b64encode(f"me:{password}".encode()).decode()}
    assert rd.url_secrets("http://h:1/x") == []
    assert rd.redact(f"x {password[2:12]} y", rd.url_secrets(f"http://me:{password}@h")) == "x *** y"


def test_redact_masks_echoed_credential_headers_of_unknown_tokens() -> None:
    out = rd.redact("Authorization: Bearer abc.def-ghi\n'authorization': 'Token zzz', "
                    '"Authorization": "Basic dXNlcjpwdw=="')
    assert out == "Authorization: Bearer ***\n'authorization': 'Token ***', \"Authorization\": \"Basic ***\""


def test_excerpt_redacts_before_it_cuts() -> None:
    key = _random(24)
    for start in range(CUT - 30, CUT + 5):  # the key straddles the cut at every offset
        body = "x" * start + key + "\n" + "y" * 3000
        shown = rd.excerpt(body, CUT, [key])
        assert leaks(shown, [key]) == [] and "\n" not in shown
        assert len(shown) <= CUT + 2
        old_way = body[:CUT].replace(key, "***")  # what the toolkit did before: cut, then replace
        if start + rd.WINDOW <= CUT < start + len(key):
            assert leaks(old_way, [key])  # ... which showed a piece of the key here


def test_remembered_sources_and_environment_are_redacted(monkeypatch) -> None:
    env_key, remembered, later = _random(30), _random(30), _random(30)
    monkeypatch.setenv("HF_TOKEN", env_key)
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://u:" + "envpassword@127.0.0.1:1")
    holder: list[str] = []
    rd.remember(remembered)
    rd.remember_source(lambda: holder)
    holder.append(later)
    text = f"{env_key[:10]} {remembered[5:20]} {later[-8:]} envpassword"
    assert rd.redact(text) == "*** *** *** ***"


def test_log_records_are_redacted_whoever_logs(capfd) -> None:
    import logging

    key = _random(32)
    rd.remember(key)
    before = logging.getLogRecordFactory()
    rd.install_log_redaction()
    rd.install_log_redaction()  # idempotent
    assert logging.getLogRecordFactory().inner is before  # type: ignore[attr-defined]
    logger = logging.getLogger("huggingface_hub.test_secrets")
    handler = logging.StreamHandler(sys.stderr)  # a library's own handler, not the root's
    logger.addHandler(handler)
    try:
        logger.warning("HTTP Error 500 thrown while requesting POST %s/api %s", "http://u:pw@127.0.0.1:9", key[:20])
        try:
            raise ValueError(f"body: {key[4:30]}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(before)
    err = capfd.readouterr().err
    assert "http://***@127.0.0.1:9/api ***" in err and "ValueError: body: ***" in err
    assert leaks(err, [key]) == [] and "u:pw" not in err


# ----------------------------------------------------------------------------- the echo server

class EchoServer(ThreadingHTTPServer):
    """Answers every request with `status` and a body echoing the request line, headers and body.

    The body is several KB long. `place` says where the text `anchor` (a secret, or the header
    that carries one) lands: "cut" puts the character `into` chars after the anchor's start on
    the toolkit's 400-character cut (counted in the body as the client re-serialises it);
    "truncated" makes the server's own body end there; "plain" leaves it where it falls.
    `as_json` sends {"detail": echo} instead of text/plain. The body also goes out in the
    X-Error-Message and X-HF-Warning headers (huggingface_hub shows the first and logs the
    second). A JWT refresh request is answered with a fresh access token (kept in `access`)
    unless `refresh_ok` is False, so personal access tokens are exercised too.
    """

    daemon_threads = True

    def __init__(self, status: int, place: str, anchor: str, into: int, as_json: bool = False,
                 refresh_ok: bool = True) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.status, self.place, self.anchor, self.into = status, place, anchor, into
        self.as_json, self.refresh_ok = as_json, refresh_ok
        self.port = self.server_address[1]
        self.received: list[str] = []  # every request as echoed
        self.sent: list[str] = []  # every error body sent
        self.access: str | None = None


class _Echo(BaseHTTPRequestHandler):
    server: EchoServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        echo = f"{self.command} {self.path} HTTP/1.1\n{self.headers}\n{payload}\n"
        self.server.received.append(echo)
        if self.path.startswith("/api/token/refresh") and self.server.refresh_ok:
            return self._refresh()
        body = self._place(echo)
        raw = json.dumps({"detail": body}) if self.server.as_json else body
        self.server.sent.append(raw)
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json" if self.server.as_json else "text/plain")
        self.send_header("Content-Length", str(len(raw.encode())))
        self.send_header("X-Error-Message", " ".join(body.split())[:2000])
        self.send_header("X-HF-Warning", "echo; " + " ".join(body.split())[:500])
        self.end_headers()
        self.wfile.write(raw.encode())

    def _place(self, echo: str) -> str:
        """The echo padded to several KB, the anchor placed as the variant wants it."""
        s = self.server
        filler = "request echo follows. " * 200
        shown = json.dumps({"detail": echo}, ensure_ascii=False) if s.as_json else echo
        at = shown.find(json.dumps(s.anchor)[1:-1] if s.as_json else s.anchor)
        if s.place == "plain" or at < 0:
            return echo + filler
        lead = "#" * max(0, CUT - s.into - at)  # '#' needs no escaping, so it shifts both forms alike
        if s.place == "truncated":
            return lead + echo[:echo.find(s.anchor) + s.into]  # the server's own body ends inside the secret
        return lead + echo + filler

    def _refresh(self) -> None:
        import jwt

        access = jwt.encode({"token_type": "access", "exp": int(time.time()) + 3600, "jti": _random(16)},
                            SIGNING_KEY, algorithm="HS256")
        self.server.access = access
        raw = json.dumps({"access": access}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer


def run_qst(args: list[str], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess:
    """The real CLI in a child process, its home, caches and temp files inside `tmp`."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("LABEL_STUDIO_", "HF_")) and k not in ("PYTHONPATH",)}
    base.update(HOME=str(home), HF_HOME=str(home / "hf"), XDG_CACHE_HOME=str(home / "cache"),
                TMPDIR=str(home), PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                COLUMNS="100")
    base.update(env)
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], cwd=tmp, env=base,
                          capture_output=True, text=True, timeout=120)


def files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def echo():
    servers: list[EchoServer] = []

    def start(*args: object, **kwargs: object) -> EchoServer:
        server = EchoServer(*args, **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------- the real commands

def check_no_leak(proc: subprocess.CompletedProcess, tmp: Path, secrets: list[str]) -> None:
    """No piece of a secret anywhere; exit 2 with one `error:` line that ends the output, no traceback."""
    assert leaks(proc.stdout, secrets) == [] and leaks(proc.stderr, secrets) == [], proc.stderr
    assert leaks(files_text(tmp), secrets) == [], "a written file holds a piece of a secret"
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]], proc.stderr
    assert "Traceback" not in proc.stderr


def _jwt(kind: str) -> str:
    import jwt

    return jwt.encode({"token_type": kind, "exp": int(time.time()) + 3600, "jti": _random(16)},
                      SIGNING_KEY, algorithm="HS256")


LS_CASES = [  # command, status, place, JSON body?, where the URL comes from, which key how
    ("push", 401, "cut", False, "env", "legacy"),
    ("pull", 500, "cut", True, "env-userinfo", "legacy-option"),
    ("push", 401, "truncated", False, "option-userinfo", "legacy"),
    ("pull", 500, "truncated", False, "env", "legacy"),
    ("pull", 401, "cut", False, "env", "pat"),
    ("push", 401, "truncated", True, "env", "pat-refresh-fails"),
]


@pytest.mark.parametrize("command,status,place,as_json,url_from,key_kind", LS_CASES)
def test_label_studio_errors_show_no_piece_of_key_or_password(
        echo, tmp_path, command, status, place, as_json, url_from, key_kind) -> None:
    key = _jwt("refresh") if key_kind.startswith("pat") else _random(40)
    password = _random(16, "pw-")
    basic = base64.b64encode(f"me:{password}".encode()).decode()
    userinfo = "userinfo" in url_from
    if userinfo:  # httpx then sends Basic auth from the URL in place of the key
        anchor, into = basic, len(basic) // 2
    elif key_kind == "pat":
        anchor = "Authorization: Bearer "
        into = len(anchor) + 40  # 40 characters into the access token
    else:
        anchor, into = key, len(key) // 2
    server = echo(status, place, anchor, into, as_json=as_json, refresh_ok=key_kind != "pat-refresh-fails")
    url = f"http://{'me:' + password + '@' if userinfo else ''}127.0.0.1:{server.port}"
    env = {} if key_kind == "legacy-option" else {"LABEL_STUDIO_API_KEY": key}
    args = (["push", str(FIX / "labelstudio" / "quotes.jsonl")] if command == "push" else
            ["pull", "--out", "annotations.json"]) + ["--project", "p", "--retries", "1" if status == 500 else "0"]
    if key_kind == "legacy-option":
        args += ["--api-key", key]
    if url_from.startswith("env"):
        env["LABEL_STUDIO_URL"] = url
    else:
        args += ["--url", url]

    proc = run_qst(args, env, tmp_path)

    secrets = [key, password, basic] + ([server.access] if server.access else [])
    assert any(anchor in r for r in server.received), "the secret never reached the server"
    assert leaks("".join(server.sent), secrets), "the server's answer did not carry the secret"
    if userinfo:  # Basic auth from the URL took the place of the key's Authorization header
        assert not any(key in r for r in server.received)
    check_no_leak(proc, tmp_path, secrets)
    assert f"Label Studio at http://{'***@' if userinfo else ''}127.0.0.1:{server.port}" in proc.stderr
    assert f"HTTP {status}" in proc.stderr
    if key_kind == "pat":
        assert server.access and any(server.access in r for r in server.received)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    from toolkit.dataset import build as hub

    out = tmp_path_factory.mktemp("secrets-ds") / "ds"
    src = FIX / "hub"
    hub.build(src / "quotes.jsonl", src / "adjudicated.jsonl", out, annotations_path=src / "annotations.jsonl",
              guidelines_path=src / "guidelines.md")
    return out


HUB_CASES = [  # status, place, JSON body?, where the endpoint comes from
    (401, "cut", False, "option-userinfo"),
    (500, "truncated", True, "option"),
    (500, "cut", False, "env-userinfo"),
    (401, "truncated", False, "option"),
]


@pytest.mark.parametrize("status,place,as_json,endpoint_from", HUB_CASES)
def test_publish_errors_show_no_piece_of_token_or_password(
        echo, tmp_path, dataset, status, place, as_json, endpoint_from) -> None:
    token = _random(34, "hf_")
    password = _random(16, "pw-")
    basic = base64.b64encode(f"me:{password}".encode()).decode()
    userinfo = "userinfo" in endpoint_from
    anchor = basic if userinfo else token
    server = echo(status, place, anchor, len(anchor) // 2, as_json=as_json)
    endpoint = f"http://{'me:' + password + '@' if userinfo else ''}127.0.0.1:{server.port}"
    env = {"HF_TOKEN": token}
    args = ["publish", str(dataset), "--repo-id", "my-lab/secrets"]
    if endpoint_from.startswith("env"):
        env["HF_ENDPOINT"] = endpoint
    else:
        args += ["--endpoint", endpoint]

    proc = run_qst(args, env, tmp_path)

    secrets = [token, password, basic]
    assert any(anchor in r for r in server.received), "the secret never reached the server"
    assert leaks("".join(server.sent), secrets), "the server's answer did not carry the secret"
    if userinfo:  # Basic auth from the URL took the place of the token's Authorization header
        assert not any(token in r for r in server.received)
    check_no_leak(proc, tmp_path, secrets)
    assert f"dataset repo my-lab/secrets at http://{'***@' if userinfo else ''}127.0.0.1:{server.port}" in proc.stderr
    assert f"HTTP {status}" in proc.stderr


def test_publish_dry_run_shows_the_endpoint_without_its_password(tmp_path, dataset) -> None:
    password = _random(16, "pw-")
    proc = run_qst(["publish", str(dataset), "--repo-id", "my-lab/secrets", "--dry-run",
                    "--endpoint", f"http://me:{password}@127.0.0.1:9"], {"HF_TOKEN": _random(34, "hf_")}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "would upload to http://***@127.0.0.1:9/datasets/my-lab/secrets" in proc.stdout
    assert leaks(proc.stdout + proc.stderr, [password]) == []


def test_connection_shows_its_url_without_the_password() -> None:
    from toolkit.labelstudio.client import Connection

    password = _random(16, "pw-")
    conn = Connection(f"http://me:{password}@127.0.0.1:9/", _random(40))
    assert conn.shown_url == "http://***@127.0.0.1:9"
    assert rd.redact(f"go to {conn.url}/projects and use {password}") == "go to http://***@127.0.0.1:9/projects and use ***"
