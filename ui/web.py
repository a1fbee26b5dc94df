"""``vaeport web``: the demo as a static site that runs entirely in the visitor's browser.

The site is the demo page's files, the model and an ``index.html`` that starts the page with no
server engine; served by any static host it needs nothing else (with ``--ort-web``, not even the
CDN). Its larger files get precompressed gzip and brotli copies beside them. It is written into a
staging folder and swapped in whole.
"""

import html
import json
from pathlib import Path

from vaeport.folders import replacing_folder
from vaeport.ui.assets import write_assets
from vaeport.ui.compressed import COMPRESSED_SUFFIXES, write_compressed
from vaeport.ui.errors import SiteError
from vaeport.ui.handlers import DemoHandlers
from vaeport.ui.page import TITLE, intro, page_config

INDEX_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>body {{ font-family: system-ui, sans-serif; max-width: 1280px; margin: 24px auto; padding: 0 16px; }}</style>
</head>
<body>
<h1>vaeport</h1>
<p>{intro}</p>
<div id="vaeport-demo"></div>
<script type="application/json" id="vaeport-config">{config}</script>
<script type="module">
import {{start}} from './{page}';
start(document.getElementById('vaeport-demo'), JSON.parse(document.getElementById('vaeport-config').textContent));
</script>
</body>
</html>
"""


def write_site(out: Path, runtime, ort_dist: Path | None = None, compress: bool = True) -> dict:
    """Write the static site of the demo on ``runtime`` into ``out``, replacing what was there; with
    ``compress``, gzip and brotli copies beside its larger files (``ui.compressed``). Returns
    ``{relative path: (bytes, gzip bytes, brotli bytes)}`` of the files compressed."""
    handlers = DemoHandlers(runtime)
    try:
        # An old site's compressed copies are never kept: a host would send them in place of the new files.
        with replacing_folder(out, keep=lambda name: not name.endswith(COMPRESSED_SUFFIXES)) as staging:
            located = write_assets(staging, runtime, browser=True, ort_dist=ort_dist)
            config = page_config(handlers, located, "./", server=False)
            # "<" escaped: the configuration sits inside a <script> element.
            text = json.dumps(config, separators=(",", ":")).replace("<", "\\u003c")
            page = INDEX_HTML.format(
                title=html.escape(TITLE),
                intro=html.escape(intro(handlers.latent_dim)),
                config=text,
                page=located["page"],
            )
            (staging / "index.html").write_text(page, encoding="utf-8")
            return write_compressed(staging) if compress else {}
    except OSError as error:
        raise SiteError(f"cannot write the site to {out}: {error.strerror or error}") from None
