"""Precompressed copies of a static site's files, for hosts that serve them as they are.

nginx (``gzip_static on``, and ``brotli_static on`` with its brotli module), Caddy
(``file_server { precompressed br gzip }``) and similar hosts send ``index.mjs.br`` or
``index.mjs.gz`` in place of ``index.mjs`` to a browser that accepts that encoding, with no
compression work per request. Hosts that compress on their own (Cloudflare, Netlify, Vercel)
ignore them. Both are written at the strongest level: once, when the site is made, for every
visitor after.
"""

import gzip
from pathlib import Path

import brotli

COMPRESSIBLE = (".html", ".mjs", ".js", ".css", ".json", ".wasm", ".onnx")
MIN_BYTES = 1024  # below this a compressed copy saves less than its HTTP headers cost
ENCODINGS = {
    ".gz": lambda data: gzip.compress(data, compresslevel=9, mtime=0),  # mtime 0: the same bytes every time
    ".br": lambda data: brotli.compress(data, quality=11),
}
COMPRESSED_SUFFIXES = tuple(ENCODINGS)


def write_compressed(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Write ``NAME.gz`` and ``NAME.br`` beside every compressible file of ``folder`` (recursively) of
    at least ``MIN_BYTES``, where they are smaller; returns ``{relative path: (bytes, gzip, brotli)}``
    with 0 for a copy not written."""
    sizes = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix in COMPRESSIBLE):
        data = path.read_bytes()
        if len(data) < MIN_BYTES:
            continue
        written = []
        for suffix, compress in ENCODINGS.items():
            packed = compress(data)
            if len(packed) < len(data):
                path.with_name(path.name + suffix).write_bytes(packed)
            written.append(len(packed) if len(packed) < len(data) else 0)
        sizes[path.relative_to(folder).as_posix()] = (len(data), *written)
    return sizes
