"""One verdict on a manifest in both languages: the shared fixtures of tests/fixtures/manifests.

Each fixture is a small edit of the shipped manifest (exported/manifest.json): ``set`` maps paths
such as ``examples[3].digit`` to new values, ``delete`` lists paths to remove. Those in ``good/``
must be accepted; those in ``bad/`` refused with a ``ModelError`` (or the ``error`` the fixture
names) whose message names the fixture's ``key``. ui/tests/manifest.test.mjs runs the same set
through the browser runtime.
"""

import copy
import json
import math
import re

import pytest

from conftest import REPO, SHIPPED_MODEL
from vaeport.contract import MANIFEST_FILE
from vaeport.runtime.errors import ModelError
from vaeport.runtime.manifest import check_manifest, read_manifest
from vaeport.runtime.prior import Prior

FIXTURES = REPO / "tests" / "fixtures" / "manifests"
SHIPPED = json.loads((SHIPPED_MODEL / MANIFEST_FILE).read_text())


def _steps(path: str) -> list:
    """``"examples[3].mu"`` -> ``["examples", 3, "mu"]``."""
    return [int(step[1:-1]) if step.startswith("[") else step for step in re.findall(r"[^.\[\]]+|\[\d+\]", path)]


def edited_manifest(fixture: dict) -> dict:
    """The shipped manifest with the fixture's edits applied: its ``set`` first, then its ``delete``."""
    manifest = copy.deepcopy(SHIPPED)
    for path, value in fixture.get("set", {}).items():
        *parents, last = _steps(path)
        target = manifest
        for step in parents:
            target = target[step]
        target[last] = value
    for path in fixture.get("delete", []):
        *parents, last = _steps(path)
        target = manifest
        for step in parents:
            target = target[step]
        del target[last]
    return manifest


def names_key(message: str, key: str) -> bool:
    """Whether ``message`` names ``key`` whole: ``examples`` is not named by ``examples[3].mu``."""
    return re.search(rf"(?<![\w.\[]){re.escape(key)}(?![\w.\[])", message) is not None


def fixtures(verdict: str) -> list:
    paths = sorted((FIXTURES / verdict).glob("*.json"))
    return [pytest.param(json.loads(path.read_text()), id=path.stem) for path in paths]


def test_there_are_fixtures_of_both_verdicts():
    assert len(fixtures("good")) >= 5 and len(fixtures("bad")) >= 30


@pytest.mark.parametrize("fixture", fixtures("good"))
def test_a_good_manifest_is_accepted(fixture):
    manifest = edited_manifest(fixture)
    described = check_manifest(manifest, MANIFEST_FILE)
    assert isinstance(described.prior, Prior)
    assert (described.latent_map is None) == ("map" not in manifest)


@pytest.mark.parametrize("fixture", fixtures("bad"))
def test_a_bad_manifest_is_refused_naming_its_key(fixture):
    with pytest.raises(ModelError) as caught:
        check_manifest(edited_manifest(fixture), MANIFEST_FILE)
    assert type(caught.value).__name__ == fixture.get("error", "ModelError")
    assert names_key(str(caught.value), fixture["key"]), f"{fixture['key']!r} is not named in: {caught.value}"


def test_the_key_must_be_named_whole():
    assert names_key("manifest.json has examples[3].mu null; expected", "examples[3].mu")
    assert not names_key("manifest.json has examples[3].mu null; expected", "examples")
    assert not names_key("manifest.json has latent_stats.min[2] = 99", "latent_stats.min")


def test_a_manifest_file_holding_nan_is_refused_naming_the_key(tmp_path):
    """Python's json reads NaN, which JSON has not (the browser refuses such a file as JSON)."""
    manifest = copy.deepcopy(SHIPPED)
    manifest["examples"][3]["mu"][0] = math.nan
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"examples\[3\].mu .*; expected 10 finite numbers"):
        read_manifest(tmp_path, str(tmp_path))
