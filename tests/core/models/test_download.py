"""Downloads against a local HTTP server on 127.0.0.1: never the internet."""

import hashlib
import http.server
import threading

import pytest

from photosearch.core.errors import ModelError
from photosearch.core.models.download import DownloadCancelled, check_url, download

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    cut_after: dict = {}  # path -> bytes to send before dropping the connection (once)
    seen_ranges: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        rng = self.headers.get("Range")
        self.seen_ranges.append(rng)
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = self.cut_after.pop(self.path, None)
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    _Handler.files = {"/model.bin": PAYLOAD}
    _Handler.cut_after = {}
    _Handler.seen_ranges = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_good_download_with_progress(server, tmp_path):
    seen = []
    out = download(f"{server}/model.bin", tmp_path / "m.bin", sha256=SHA, size=len(PAYLOAD),
                   on_progress=lambda d, t: seen.append((d, t)))
    assert out.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and not (tmp_path / "m.bin.part").exists()


def test_wrong_checksum_is_deleted_and_never_used(server, tmp_path):
    with pytest.raises(ModelError, match="checksum"):
        download(f"{server}/model.bin", tmp_path / "m.bin", sha256="0" * 64, size=len(PAYLOAD))
    assert not (tmp_path / "m.bin").exists() and not (tmp_path / "m.bin.part").exists()


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    _Handler.cut_after["/model.bin"] = 300_000
    with pytest.raises(ModelError, match="resume"):
        download(f"{server}/model.bin", tmp_path / "m.bin", sha256=SHA, size=len(PAYLOAD))
    assert not (tmp_path / "m.bin").exists()
    assert (tmp_path / "m.bin.part").stat().st_size > 0
    out = download(f"{server}/model.bin", tmp_path / "m.bin", sha256=SHA, size=len(PAYLOAD))
    assert out.read_bytes() == PAYLOAD
    assert _Handler.seen_ranges[-1].startswith("bytes=") and _Handler.seen_ranges[-1] != "bytes=0-"


def test_cancel_keeps_the_partial_file(server, tmp_path):
    cancel = threading.Event()

    def progress(done, total):
        cancel.set()

    with pytest.raises(DownloadCancelled):
        download(f"{server}/model.bin", tmp_path / "m.bin", sha256=SHA, size=len(PAYLOAD),
                 on_progress=progress, cancel=cancel)
    assert (tmp_path / "m.bin.part").exists() and not (tmp_path / "m.bin").exists()


def test_404_and_unreachable(server, tmp_path):
    with pytest.raises(ModelError, match="404"):
        download(f"{server}/missing.bin", tmp_path / "x", sha256=SHA, size=10)
    with pytest.raises(ModelError, match="cannot reach"):
        download("http://127.0.0.1:9/none", tmp_path / "x", sha256=SHA, size=10, timeout=2)


def test_larger_than_expected_is_refused(server, tmp_path):
    with pytest.raises(ModelError, match="larger"):
        download(f"{server}/model.bin", tmp_path / "m.bin", sha256=SHA, size=1000)
    assert not (tmp_path / "m.bin").exists() and not (tmp_path / "m.bin.part").exists()


def test_only_https_leaves_this_machine():
    check_url("https://example.org/model.onnx")
    check_url("http://127.0.0.1:8000/model.onnx")
    for url in ("http://example.org/model.onnx", "ftp://example.org/m", "file:///etc/passwd"):
        with pytest.raises(ModelError, match="https"):
            check_url(url)


def test_store_installs_a_registry_model_from_the_server(server, tmp_path, classifier_model):
    from photosearch.core.models.registry import ModelEntry
    from photosearch.core.models.store import ModelStore

    data = classifier_model.read_bytes()
    _Handler.files["/tiny.onnx"] = data
    entry = ModelEntry(name="tiny", title="Tiny", description="test", licence="MIT", source="test",
                       dim=192, url=f"{server}/tiny.onnx", sha256=hashlib.sha256(data).hexdigest(),
                       size=len(data), input_name="input")
    store = ModelStore(tmp_path / "models", tmp_path / "cache", known={"tiny": entry})
    spec = store.install("tiny")
    assert spec.installed and spec.embedding == "features" and spec.logits == "logits"
    assert store.installed() == ["tiny"] and not list((tmp_path / "models" / "downloads").glob("*"))
    # the installed file is checked on every load
    onnx_file = tmp_path / "models" / "tiny.onnx"
    raw = bytearray(onnx_file.read_bytes())
    raw[-10] ^= 0xFF
    onnx_file.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="checksum|damaged"):
        store.spec("tiny")
    store.remove("tiny")
    assert store.installed() == []
