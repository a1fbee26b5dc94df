"""A static file server that serves a ``vaeport web`` site as a host with precompressed files would.

For ``NAME`` it sends ``NAME.br`` or ``NAME.gz``, where the site has them, to a browser that accepts
that encoding, with the content type of ``NAME``, as nginx's ``brotli_static`` and ``gzip_static``
and Caddy's ``precompressed`` do; other files, and every file to a browser that accepts neither,
go out as they are, as from Python's ``http.server``.

    python -m vaeport.benchmarks.static_host FOLDER PORT    # serves on 127.0.0.1 only
"""

import functools
import http.server
import os
import sys

ENCODINGS = ((".br", "br"), (".gz", "gzip"))  # preferred first, as browsers that accept both get brotli


def accepted_encodings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header accepts: listed, and not with ``q=0``."""
    accepted = set()
    for part in header.split(","):
        name, *parameters = (piece.strip() for piece in part.split(";"))
        weights = [piece.partition("=")[2] for piece in parameters if piece.lower().startswith("q=")]
        try:
            refused = bool(weights) and float(weights[0]) == 0
        except ValueError:
            refused = False
        if name and not refused:
            accepted.add(name.lower())
    return accepted


class PrecompressedHandler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        accepted = accepted_encodings(self.headers.get("Accept-Encoding", ""))
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


def main(folder: str, port: str) -> None:
    handler = functools.partial(PrecompressedHandler, directory=folder)
    with http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])
