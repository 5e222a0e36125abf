"""The collection's metadata agrees with itself and with what is installed."""

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet

import ansible_collections

ROOT = Path(__file__).resolve().parents[2]


def load(path):
    return yaml.safe_load((ROOT / path).read_text())


def installed_version(name):
    namespace, collection = name.split(".")
    for base in ansible_collections.__path__:
        manifest = Path(base) / namespace / collection / "MANIFEST.json"
        if manifest.exists():
            return json.loads(manifest.read_text())["collection_info"]["version"]
    raise AssertionError("collection %s is not installed" % name)


def test_requirements_match_galaxy_dependencies_and_the_installed_collections():
    wanted = {item["name"]: item["version"] for item in load("requirements.yml")["collections"]}
    assert wanted == load("galaxy.yml")["dependencies"]
    for name, spec in wanted.items():
        version = installed_version(name)
        assert version in SpecifierSet(spec), "%s %s is outside %s" % (name, version, spec)


def test_every_module_is_in_its_action_group():
    modules = sorted(path.stem for path in (ROOT / "plugins" / "modules").glob("*.py") if path.stem != "__init__")
    groups = load("meta/runtime.yml")["action_groups"]
    assert sorted(groups["beanstalk"] + groups["bundle"] + groups["mlflow"]) == modules
    # The AWS group holds exactly the modules that take AWS connection options.
    assert sorted(groups["beanstalk"]) == [name for name in modules if name.startswith(("eb_", "acm_", "iam_"))]
    # The modules that talk to the MLflow server (through its front door, no AWS connection).
    assert sorted(groups["mlflow"]) == [name for name in modules if name.startswith("mlflow_")]


def test_role_defaults_and_argument_specs_list_the_same_variables():
    for role in (ROOT / "roles").iterdir():
        defaults = set(yaml.safe_load((role / "defaults" / "main.yml").read_text()))
        options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
        # A required variable has no default (e.g. the bundle's salt seed, a generated secret).
        assert defaults == {name for name, spec in options.items() if not spec.get("required")}, role.name
        assert all("default" not in spec for spec in options.values() if spec.get("required")), role.name
        assert all(name.startswith(role.name + "_") for name in defaults), role.name


def test_the_built_collection_ships_no_harness_and_refers_to_none(tmp_path):
    """What Galaxy users get: the collection's own files, and nothing in them that needs this
    repository's harness (the local cloud, the tests, the tools' caches)."""
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    subprocess.run([str(galaxy), "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=120)
    with tarfile.open(next(tmp_path.glob("mlflowops-beanstalk-*.tar.gz"))) as tarball:
        names = tarball.getnames()
        texts = {member.name: tarball.extractfile(member).read().decode("utf-8", "replace")
                 for member in tarball.getmembers() if member.isfile()}
    tops = {name.split("/")[0] for name in names}
    assert tops == {"CHANGELOG.md", "FILES.json", "MANIFEST.json", "README.md", "docs", "inventories", "meta", "playbooks",
                    "plugins", "requirements.yml", "roles"}
    assert not [name for name in names if name.startswith("inventories/") and not name.startswith("inventories/aws")]
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # Code and playbooks may name the local cloud in a comment, never use it.
    using = [name for name, text in texts.items() if name.startswith(("playbooks/", "roles/", "plugins/", "meta/"))
             for line in text.splitlines() if "localcloud" in line and not line.lstrip().startswith("#")]
    assert not using, using


def test_every_entry_point_the_playbooks_use_has_argument_specs_taken_from_main():
    """tasks_from entry points are type-checked like main: each has a spec, its options are main's
    (the same spec), and every role variable its tasks read is among them."""
    used = set()
    for path in list((ROOT / "playbooks").rglob("*.yml")) + list((ROOT / "molecule").rglob("*.yml")) + list((ROOT / "tests").rglob("*.yml")):
        used |= set(re.findall(r"name: mlflowops\.beanstalk\.(\w+)\n\s+tasks_from: (\w+)", path.read_text()))
    assert {"validate", "permissions", "rotate", "purge", "require", "absent", "record", "remove"} <= {entry for _role, entry in used}
    for role, entry in sorted(used):
        specs = load("roles/%s/meta/argument_specs.yml" % role)["argument_specs"]
        assert entry in specs, "roles/%s has no argument_specs for tasks_from %s" % (role, entry)
        main, options = specs["main"]["options"], specs[entry].get("options", {})
        assert all(main[name] == spec for name, spec in options.items() if name in main), (role, entry)
        read = set(re.findall(r"\b(%s_[a-z0-9_]+)" % role, (ROOT / "roles" / role / "tasks" / (entry + ".yml")).read_text()))
        assert read & set(main) <= set(options), (role, entry, sorted(read & set(main) - set(options)))
