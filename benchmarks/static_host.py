"""A static host on loopback that serves a ``vaeport web`` site as a compressing host would.

For ``NAME`` it sends ``NAME.br`` or ``NAME.gz`` to a browser that accepts that encoding, with the
content type of ``NAME``, as nginx's ``brotli_static`` and ``gzip_static`` and Caddy's
``precompressed`` do; Python's own ``http.server`` sends every file as it is. The first-load
benchmark times the site through it.
"""

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path

from vaeport.benchmarks.harness import LOOPBACK

ENCODINGS = ((".br", "br"), (".gz", "gzip"))  # preferred first, as browsers that accept both get brotli


class PrecompressedHandler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = self.translate_path(self.path)
        accepted = {part.split(";")[0].strip() for part in self.headers.get("Accept-Encoding", "").split(",")}
        for suffix, encoding in ENCODINGS:
            if encoding in accepted and os.path.isfile(path + suffix):
                body = open(path + suffix, "rb")  # noqa: SIM115 (closed by the handler once it is sent)
                self.send_response(200)
                self.send_header("Content-Type", self.guess_type(path))
                self.send_header("Content-Encoding", encoding)
                self.send_header("Content-Length", str(os.fstat(body.fileno()).st_size))
                self.send_header("Vary", "Accept-Encoding")
                self.end_headers()
                return body
        return super().send_head()

    def log_message(self, format, *args):
        """Quiet: the benchmark prints its own lines."""


@contextlib.contextmanager
def precompressed_server(folder: Path):
    """Serve ``folder`` on a free loopback port in a thread of this process; yields its URL."""
    handler = functools.partial(PrecompressedHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
