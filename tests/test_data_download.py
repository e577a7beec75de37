"""The MNIST download path, for real, against a local HTTP server on 127.0.0.1.

A stdlib ``http.server`` in a thread (ephemeral port) serves in-memory gzip files; each route can
serve the body whole, cut short (a ``Content-Length`` larger than what is sent: a dropped
connection), or answer 404. Every failure must leave the cache folder without any file.
"""
from __future__ import annotations

import gzip
import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from elbo_edu.data import CACHE_ENV, DATA_ENV, DataError, fetch_mnist_file, load_mnist
from elbo_edu.data import download as download_module
from elbo_edu.data.download import download_verified
from elbo_edu.data.idx import encode_idx

LABELS = "t10k-labels-idx1-ubyte"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        self.server.hits.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        body, mode = self.server.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if mode == "whole" else body[: len(body) // 2])

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def server():
    """``(server, base_url)``; put ``server.routes["/m/<file>"] = (bytes, "whole" | "short")``."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.routes, srv.hits = {}, []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}/m/"
    srv.shutdown()
    srv.server_close()
    thread.join()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "mnist"


def _labels_file(seed=0, n=50):
    """A synthetic labels file: (gzip bytes, SHA-256 of the decompressed content)."""
    raw = encode_idx(np.random.default_rng(seed).integers(0, 10, n).astype(np.uint8))
    return gzip.compress(raw, mtime=0), hashlib.sha256(raw).hexdigest()


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_good_download_lands_in_cache_and_is_reused(server, cache):
    srv, url = server
    body, digest = _labels_file()
    srv.routes["/m/" + LABELS + ".gz"] = (body, "whole")
    path = fetch_mnist_file(LABELS, mirrors=[url], sha256={LABELS: digest}, progress=True)
    assert path == cache / (LABELS + ".gz") and path.read_bytes() == body
    assert _files(cache) == [LABELS + ".gz"]  # no temporary file left over
    fetch_mnist_file(LABELS, mirrors=[url], sha256={LABELS: digest})
    assert len(srv.hits) == 1  # the second call is served by the cache


def test_mirror_fallback(server, cache):
    srv, url = server
    body, digest = _labels_file()
    srv.routes["/good/" + LABELS + ".gz"] = (body, "whole")
    good = url.replace("/m/", "/good")  # no trailing slash: it is added
    assert fetch_mnist_file(LABELS, mirrors=[url, good], sha256={LABELS: digest}).is_file()
    assert srv.hits == ["/m/" + LABELS + ".gz", "/good/" + LABELS + ".gz"]


def test_checksum_mismatch_rejected_and_nothing_left(server, cache):
    srv, url = server
    body, _ = _labels_file(seed=1)
    _, other_digest = _labels_file(seed=2)
    srv.routes["/m/" + LABELS + ".gz"] = (body, "whole")
    with pytest.raises(DataError, match="SHA-256 mismatch") as info:
        fetch_mnist_file(LABELS, mirrors=[url], sha256={LABELS: other_digest})
    msg = str(info.value)
    assert other_digest in msg and hashlib.sha256(gzip.decompress(body)).hexdigest() in msg
    assert url + LABELS + ".gz" in msg and "not found" in msg
    assert _files(cache) == []


@pytest.mark.parametrize("how", ["dropped connection", "truncated gzip"])
def test_truncated_download_rejected_and_nothing_left(server, cache, how):
    srv, url = server
    body, digest = _labels_file(n=5000)
    srv.routes["/m/" + LABELS + ".gz"] = ((body, "short") if how == "dropped connection"
                                          else (body[:-30], "whole"))
    match = "truncated download" if how == "dropped connection" else "corrupt or truncated gzip"
    with pytest.raises(DataError, match=match):
        fetch_mnist_file(LABELS, mirrors=[url], sha256={LABELS: digest})
    assert _files(cache) == []


def test_all_mirrors_fail_lists_each(server, cache):
    _, url = server
    with socket.socket() as s:  # a port on which nobody listens
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    with pytest.raises(DataError, match="every mirror failed") as info:
        load_mnist(split="test", mirrors=[url, dead], timeout=5)
    msg = str(info.value)
    assert "HTTP Error 404" in msg and dead in msg and "embedded" in msg
    assert _files(cache) == []
    with pytest.raises(DataError, match="mirrors is empty"):
        fetch_mnist_file(LABELS, mirrors=[])


def test_bad_cached_copy_is_replaced(server, cache):
    srv, url = server
    body, digest = _labels_file()
    srv.routes["/m/" + LABELS + ".gz"] = (body, "whole")
    cache.mkdir(parents=True)
    (cache / (LABELS + ".gz")).write_bytes(gzip.compress(b"garbage"))
    with pytest.raises(DataError, match="SHA-256 mismatch"):  # no download: reported, kept
        fetch_mnist_file(LABELS, mirrors=[url], sha256={LABELS: digest}, download=False)
    assert _files(cache) == [LABELS + ".gz"]
    fetch_mnist_file(LABELS, mirrors=[url], sha256={LABELS: digest})
    assert (cache / (LABELS + ".gz")).read_bytes() == body


def test_interrupt_during_download_leaves_nothing(server, cache, monkeypatch):
    srv, url = server
    body, digest = _labels_file()
    srv.routes["/m/" + LABELS + ".gz"] = (body, "whole")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(download_module, "read_verified", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download_verified(url + LABELS + ".gz", cache / "x.gz", sha256=digest)
    assert _files(cache) == []


def test_real_test_split_downloads_and_verifies(server, cache, shared_mnist_dir):
    """The real t10k files (1.6 MB) served locally verify against the built-in checksums."""
    srv, url = server
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        srv.routes["/m/" + name] = ((shared_mnist_dir / name).read_bytes(), "whole")
    x, y = load_mnist(split="test", mirrors=[url])
    assert x.shape == (10000, 784) and y.shape == (10000,) and x.max() == 1.0
    assert _files(cache) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    load_mnist(split="test", mirrors=[url])
    assert len(srv.hits) == 2
