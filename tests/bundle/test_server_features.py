"""The routes the auth layer closes are MLflow's own: each prefix matches routes of the pinned
MLflow, and every route of a feature that lets users make the server act is covered, so an
MLflow upgrade that adds one fails here instead of opening it."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from support.authlayer import auth
from support.servervenv import server_venv

# The app's routes (FastAPI routers and the Flask app mounted under them), as MLflow registers them.
LIST_ROUTES = """
import json, warnings
warnings.simplefilter("ignore")
from mlflow.server.fastapi_app import create_fastapi_app
from mlflow.server import app as flask_app

def walk(routes, prefix=""):
    for route in routes:
        included = getattr(route, "include_context", None)  # FastAPI >= 0.13x keeps routers whole
        if included is not None:
            yield from walk(included.included_router.routes, prefix + included.prefix)
        elif getattr(route, "path", ""):
            yield prefix + route.path

paths = {rule.rule for rule in flask_app.url_map.iter_rules()} | set(walk(create_fastapi_app().routes))
print(json.dumps(sorted(paths)))
"""
# What each feature's routes are called in MLflow 3.17 (a route matching one is that feature's).
FEATURE_WORDS = {
    "gateway": r"/gateway\b|gateway-proxy",
    "assistant": r"/assistant\b",
    "jobs": r"/jobs\b|/invoke\b|prompt-optimization",
    "webhooks": r"/webhooks\b",
}


@pytest.fixture(scope="module")
def routes(rendered_bundle):
    venv = server_venv(rendered_bundle["source"] / "requirements.txt")
    listed = subprocess.run([str(venv / "bin" / "python"), "-c", LIST_ROUTES], capture_output=True, text=True, check=True, timeout=300)
    return json.loads(listed.stdout.strip().splitlines()[-1])


def test_every_closed_prefix_is_a_route_of_mlflow(routes):
    for feature, prefixes in auth.FEATURE_PATHS.items():
        for prefix in prefixes:
            assert any(path == prefix or path.startswith(prefix + "/") for path in routes), (feature, prefix)


def test_every_route_of_a_closed_feature_is_closed(routes):
    closed = auth.BasicAuth(None, None)
    for feature, words in FEATURE_WORDS.items():
        found = [path for path in routes if re.search(words, path)]
        assert found, feature
        for path in found:
            assert closed.closed(path), (feature, path)


def test_the_role_and_the_auth_layer_know_the_same_features():
    import yaml  # pylint: disable=import-outside-toplevel

    role = Path(__file__).resolve().parents[2] / "roles" / "bundle"
    names = yaml.safe_load((role / "vars" / "main.yml").read_text())["_bundle_server_feature_names"]
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert names == list(auth.FEATURE_PATHS)
    # The spec names them in its description (no choices: the role's own check gives the clearer message).
    described = " ".join(spec["bundle_server_features"]["description"])
    assert "choices" not in spec["bundle_server_features"] and [name for name in names if "C(%s)" % name not in described] == []
