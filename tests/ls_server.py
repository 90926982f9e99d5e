"""A real Label Studio server for the tests: started once per session, stopped at the end.

It runs scripts/labelstudio.sh start on a free port with a temporary data dir and a random
admin token. If .venv-ls is missing the tests FAIL with a message saying how to install it,
unless QST_SKIP_LABELSTUDIO=1 (then they are skipped).

Import the `ls_server` fixture into a test module; both Label Studio modules share one
server because the process is kept in a module-level singleton.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "labelstudio.sh"
VENV = Path(os.environ.get("QST_LS_VENV", ROOT / ".venv-ls"))


@dataclass
class LSServer:
    url: str
    port: int
    token: str
    username: str
    password: str
    data_dir: Path

    @property
    def log(self) -> Path:
        return self.data_dir / "server.log"

    def env(self) -> dict[str, str]:
        """Environment for a `qst` subprocess talking to this server."""
        env = dict(os.environ)
        env.update({"LABEL_STUDIO_URL": self.url, "LABEL_STUDIO_API_KEY": self.token})
        return env

    def client(self, **kwargs):
        from label_studio_sdk import LabelStudio
        return LabelStudio(base_url=self.url, api_key=self.token, **kwargs)


_SERVER: LSServer | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _script_env(data_dir: Path, token: str, username: str, password: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"QST_LS_DATA_DIR": str(data_dir), "QST_LS_VENV": str(VENV), "LABEL_STUDIO_USER_TOKEN": token,
                "LABEL_STUDIO_USERNAME": username, "LABEL_STUDIO_PASSWORD": password})
    return env


class LSStartError(RuntimeError):
    """Label Studio is not installed or did not start (the message says why)."""


def start_server(timeout: float = 400) -> LSServer:
    """Start a fresh server (free port, temporary data dir, random token); no pytest needed.

    Used by the test fixture and by scripts/bench_labelstudio.py; the caller must `stop()` it.
    """
    if not (VENV / "bin" / "label-studio").exists():
        raise LSStartError(f"Label Studio is not installed in {VENV}: run `bash scripts/labelstudio.sh install`")
    data_dir = Path(tempfile.mkdtemp(prefix="qst-ls-"))
    token = secrets.token_hex(20)
    username, password = "admin@example.com", secrets.token_urlsafe(12)
    port = free_port()
    env = _script_env(data_dir, token, username, password)
    proc = subprocess.run(["bash", str(SCRIPT), "start", str(port)], env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        log = (data_dir / "server.log")
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise LSStartError(f"labelstudio.sh start failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{tail}")
    return LSServer(url=f"http://127.0.0.1:{port}", port=port, token=token, username=username,
                    password=password, data_dir=data_dir)


def _start() -> LSServer:
    if not (VENV / "bin" / "label-studio").exists() and os.environ.get("QST_SKIP_LABELSTUDIO") == "1":
        pytest.skip("Label Studio not installed and QST_SKIP_LABELSTUDIO=1")
    try:
        return start_server()
    except LSStartError as exc:
        hint = "" if (VENV / "bin" / "label-studio").exists() else " (or set QST_SKIP_LABELSTUDIO=1 to skip these tests)"
        pytest.fail(f"{exc}{hint}", pytrace=False)


def stop(server: LSServer) -> None:
    env = _script_env(server.data_dir, server.token, server.username, server.password)
    subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=60)
    if os.environ.get("QST_KEEP_LS_DATA") != "1":
        shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ls_server(request: pytest.FixtureRequest) -> LSServer:
    """The session's Label Studio server (started on first use)."""
    global _SERVER
    if _SERVER is None and os.environ.get("QST_LS_TEST_URL"):  # a running server, e.g. while developing
        data_dir = Path(os.environ.get("QST_LS_TEST_DATA_DIR", tempfile.gettempdir()))
        return LSServer(url=os.environ["QST_LS_TEST_URL"], port=int(os.environ["QST_LS_TEST_URL"].rsplit(":", 1)[1]),
                        token=os.environ["QST_LS_TEST_TOKEN"], username="", password="", data_dir=data_dir)
    if _SERVER is None:
        _SERVER = _start()
        server = _SERVER

        def _cleanup() -> None:
            global _SERVER
            stop(server)
            _SERVER = None

        request.config.add_cleanup(_cleanup)
    return _SERVER


def annotator_account(server: LSServer, email: str, password: str | None = None):
    """A real annotator: signs up through the server's own sign-up page (as an invited person
    would, with the organisation's invite token), then reads their own API token; returns an SDK
    client acting as that user. Nothing is mocked: the user, session and token are the server's."""
    import re

    import httpx
    from label_studio_sdk import LabelStudio

    admin = httpx.Client(base_url=server.url, headers={"Authorization": f"Token {server.token}"}, timeout=60)
    invite = admin.get("/api/invite").json()["invite_url"]  # /user/signup/?token=...
    admin.close()
    password = password or secrets.token_urlsafe(12)
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as web:
        page = web.get(invite)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        data = {"email": email, "password": password,
                "csrfmiddlewaretoken": csrf.group(1) if csrf else web.cookies.get("csrftoken", "")}
        r = web.post(invite, data=data, headers={"Referer": f"{server.url}{invite}"})
        assert r.status_code == 200, r.text[:500]
        token = web.get("/api/current-user/token").json()["token"]
    client = LabelStudio(base_url=server.url, api_key=token)
    client.qst_token = token  # for plain HTTP calls as this user (e.g. GET /api/projects/{id}/next)
    return client
