"""The files behind the page: onnxruntime-web's pinned version and hashes, the assets folder a
demo serves, and the static site ``vaeport web`` writes."""

import gzip
import json
import re
import subprocess
import sys

import brotli
import pytest

from conftest import REPO
from vaeport.ui.assets import ORT_WEB, PAGE_FILES, check_ort_dist, subresource_integrity, write_assets
from vaeport.ui.compressed import MIN_BYTES
from vaeport.ui.errors import OrtWebError
from vaeport.ui.web import write_site


def test_the_pinned_hashes_are_those_of_the_npm_packages_files(ort_dist):
    for part in ("module", "wasm"):
        data = (ort_dist / ORT_WEB[part]["file"]).read_bytes()
        assert subresource_integrity(data) == ORT_WEB[part]["integrity"]
        assert len(data) == ORT_WEB[part]["bytes"]  # the total the page's loading progress counts towards
    assert check_ort_dist(ort_dist) == ort_dist


def test_one_version_of_onnxruntime_web_is_pinned_everywhere():
    package = json.loads((REPO / "ui" / "package.json").read_text())
    lock = json.loads((REPO / "ui" / "package-lock.json").read_text())
    assert package["dependencies"]["onnxruntime-web"] == ORT_WEB["version"]
    assert lock["packages"]["node_modules/onnxruntime-web"]["version"] == ORT_WEB["version"]
    assert ORT_WEB["cdn"] == f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_WEB['version']}/dist/"
    assert ORT_WEB["module"]["file"] == "ort.wasm.bundle.min.mjs"  # the wasm build, not the 28 MB WebGPU one


def test_a_local_copy_of_another_version_is_refused_with_what_to_do(ort_dist, tmp_path):
    with pytest.raises(OrtWebError, match="is not a folder"):
        check_ort_dist(tmp_path / "missing")
    with pytest.raises(OrtWebError, match="ort.wasm.bundle.min.mjs is missing"):
        check_ort_dist(tmp_path)
    for part in ("module", "wasm"):
        (tmp_path / ORT_WEB[part]["file"]).write_bytes((ort_dist / ORT_WEB[part]["file"]).read_bytes())
    (tmp_path / ORT_WEB["wasm"]["file"]).open("ab").write(b"\0")
    with pytest.raises(
        OrtWebError, match=r"ort-wasm-simd-threaded.wasm is not the file of onnxruntime-web 1.30.0 .*npm install"
    ):
        check_ort_dist(tmp_path)


def test_the_assets_hold_the_page_and_the_verified_model_of_one_precision(vae, ort_dist, tmp_path):
    from vaeport.runtime import VAERuntime

    int8 = VAERuntime.load(device="cpu", precision="int8", threads=1)
    located = write_assets(tmp_path / "int8", int8, browser=True, ort_dist=ort_dist)
    assert located["page"] == "vaeport/demo.mjs"
    assert located["browser"]["precision"] == "int8"
    assert located["browser"]["ort"]["base"] == "onnxruntime-web/"
    model = tmp_path / "int8" / "model"
    assert sorted(path.name for path in model.iterdir()) == ["decoder.int8.onnx", "encoder.int8.onnx", "manifest.json"]
    for name, data in int8.graph_files.items():
        assert (model / name).read_bytes() == data
    assert json.loads((model / "manifest.json").read_text()) == int8.manifest
    for name in PAGE_FILES:
        assert (tmp_path / "int8" / "vaeport" / name).read_bytes() == (REPO / "ui" / "static" / name).read_bytes()

    located = write_assets(tmp_path / "mixed", vae, browser=True, browser_precision="int8")  # an fp32 server
    assert located["browser"]["precision"] == "int8"
    assert located["browser"]["model"]["graphs"] == {name: len(data) for name, data in int8.graph_files.items()}
    for name, data in int8.graph_files.items():
        assert (tmp_path / "mixed" / "model" / name).read_bytes() == data

    cdn = write_assets(tmp_path / "cdn", vae, browser=True)
    assert cdn["browser"]["ort"]["base"] == ORT_WEB["cdn"] and not (tmp_path / "cdn" / "onnxruntime-web").exists()
    server_only = write_assets(tmp_path / "server", vae, browser=False)
    assert server_only["browser"] is None and server_only["manifest"] == "model/manifest.json"
    assert [path.name for path in (tmp_path / "server" / "model").iterdir()] == ["manifest.json"]  # the map's


def test_the_static_site_is_one_page_with_everything_it_needs(vae, ort_dist, tmp_path):
    site = tmp_path / "site"
    write_site(site, vae, ort_dist, compress=False)
    index = (site / "index.html").read_text()
    config = json.loads(index.split('<script type="application/json" id="vaeport-config">')[1].split("</script>")[0])
    assert config["server"] is None and config["assets"] == "./" and config["browser"]["precision"] == "fp32"
    assert "import {start} from './vaeport/demo.mjs';" in index
    files = sorted(str(path.relative_to(site)) for path in site.rglob("*") if path.is_file())
    assert files == [
        "index.html",
        "model/decoder.onnx",
        "model/encoder.onnx",
        "model/manifest.json",
        "onnxruntime-web/ort-wasm-simd-threaded.wasm",
        "onnxruntime-web/ort.wasm.bundle.min.mjs",
        *(f"vaeport/{name}" for name in PAGE_FILES),
    ]


def test_the_page_files_hold_every_module_the_page_imports():
    imported = set()
    for name in PAGE_FILES:
        imported |= set(re.findall(r"from '\./([\w.-]+)'", (REPO / "ui" / "static" / name).read_text()))
    assert "demo.mjs" in PAGE_FILES and "demo.css" in PAGE_FILES and "runtime.mjs" in imported
    assert imported <= set(PAGE_FILES)


def test_writing_the_site_again_replaces_it_whole_and_keeps_foreign_files(vae, tmp_path):
    site = tmp_path / "site"
    write_site(site, vae, compress=False)
    (site / "CNAME").write_text("digits.example.org\n")
    (site / "model" / "decoder.onnx").write_bytes(b"stale")
    write_site(site, vae, compress=False)
    assert (site / "CNAME").read_text() == "digits.example.org\n"
    assert (site / "model" / "decoder.onnx").read_bytes() == vae.graph_files["decoder.onnx"]
    assert [path.name for path in tmp_path.iterdir()] == ["site"]  # no staging folder left behind


def test_a_failed_write_leaves_the_old_site_in_place(vae, tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_site(site, vae, compress=False)
    before = {path: path.read_bytes() for path in site.rglob("*") if path.is_file()}

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("vaeport.ui.web.write_assets", fail)
    with pytest.raises(Exception, match="cannot write the site to .*: No space left on device"):
        write_site(site, vae, compress=False)
    assert {path: path.read_bytes() for path in site.rglob("*") if path.is_file()} == before
    assert [path.name for path in tmp_path.iterdir()] == ["site"]


def test_vaeport_web_writes_the_site_and_says_how_to_try_it(tmp_path, ort_dist):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vaeport",
            "web",
            str(tmp_path / "site"),
            "--precision",
            "int8",
            "--ort-web",
            str(ort_dist),
            "--no-compress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no request leaves its origin" in result.stdout and "python -m http.server" in result.stdout
    assert (tmp_path / "site" / "model" / "decoder.int8.onnx").is_file()
    result = subprocess.run(
        [sys.executable, "-m", "vaeport", "web", str(tmp_path / "site" / "index.html")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "is a file" in result.stderr and "Traceback" not in result.stderr


def test_the_sites_larger_files_get_gzip_and_brotli_copies_that_decompress_to_them(tmp_path):
    from vaeport.runtime import VAERuntime

    int8 = VAERuntime.load(device="cpu", precision="int8", threads=1)
    site = tmp_path / "site"
    sizes = write_site(site, int8)
    assert {"model/decoder.int8.onnx", "model/encoder.int8.onnx", "model/manifest.json", "vaeport/demo.mjs"} <= set(
        sizes
    )
    for name, (raw, gz, br) in sizes.items():
        original = (site / name).read_bytes()
        assert len(original) == raw >= MIN_BYTES and 0 < gz < raw and 0 < br < raw, name
        assert gzip.decompress((site / f"{name}.gz").read_bytes()) == original
        assert brotli.decompress((site / f"{name}.br").read_bytes()) == original
    assert (
        not (site / "vaeport" / "demo.css.gz").exists() or (site / "vaeport" / "demo.css").stat().st_size >= MIN_BYTES
    )
    again = tmp_path / "again"
    write_site(again, int8)
    assert (again / "model/manifest.json.gz").read_bytes() == (site / "model/manifest.json.gz").read_bytes()
    (site / "CNAME").write_text("digits.example.org\n")
    write_site(site, int8, compress=False)  # no copy of an old file may outlive it, where a host would send it
    assert not [path for path in site.rglob("*") if path.suffix in (".gz", ".br")]
    assert (site / "CNAME").is_file()
