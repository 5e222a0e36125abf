#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mlflowops.beanstalk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: bundle_archive
short_description: Zip an Elastic Beanstalk source bundle deterministically and derive its version label
version_added: 0.1.0
description:
  - Builds a zip from an explicit list of files with sorted entries, fixed timestamps and the files'
    permission bits, so the same inputs always give a byte-identical archive.
  - Returns the archive's SHA-256 and an application version label derived from it, so an unchanged
    bundle maps to the same label and never creates a new application version.
  - Writes O(dest) only when its bytes differ.
author:
  - mlflowops.beanstalk contributors (@mlflowops)
options:
  dest:
    description: Path of the zip to write.
    type: path
    required: true
  src:
    description: Folder holding the bundle's files.
    type: path
    required: true
  files:
    description:
      - Paths of the bundle's files, relative to O(src) and C(/) separated; nothing else goes into
        the archive, so files left over in O(src) are never shipped.
      - Each entry keeps the file's permission bits; set them when writing the files.
    type: list
    elements: str
    required: true
  label_prefix:
    description:
      - Prefix of the version label; the label is C(<prefix>-<first 16 hex digits of the SHA-256>).
      - The label may use letters, digits, C(.), C(_) and C(-), at most 100 characters in all.
    type: str
    default: bundle
seealso:
  - module: mlflowops.beanstalk.eb_application_version
    description: Creates the version from the zip, under the label this module derives.
  - name: Source bundles
    description: What Elastic Beanstalk expects in a source bundle.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/applications-sourcebundle.html
"""

EXAMPLES = r"""
- name: Zip the bundle
  mlflowops.beanstalk.bundle_archive:
    dest: build/bundle.zip
    label_prefix: mlflow-3.17.2
    src: build/source
    files:
      - Dockerfile
      - mlflowops/entrypoint.sh
  register: bundle
"""

RETURN = r"""
dest:
  description: The zip written.
  returned: always
  type: str
sha256:
  description: SHA-256 of the zip's bytes.
  returned: always
  type: str
version_label:
  description: Application version label derived from the content hash.
  returned: always
  type: str
  sample: mlflow-3.17.2-5f1c0e2a9b7d4c31
size:
  description: Size of the zip in bytes.
  returned: always
  type: int
entries:
  description: The paths inside the bundle, sorted.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mlflowops.beanstalk.plugins.module_utils import bundle
from ansible_collections.mlflowops.beanstalk.plugins.module_utils import files


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            src=dict(type="path", required=True),
            files=dict(type="list", elements="str", required=True),
            label_prefix=dict(type="str", default="bundle"),
        ),
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    try:
        data = bundle.build_zip(module.params["src"], module.params["files"])
        digest = bundle.sha256_hex(data)
        label = bundle.version_label(module.params["label_prefix"], digest)
    except (bundle.BundleError, OSError) as exc:
        module.fail_json(msg="cannot build the bundle: %s" % exc)

    changed = files.write_if_changed(module, dest, data, "0644")[0]
    entries = sorted(bundle.normalise_arcname(path) for path in module.params["files"])
    module.exit_json(changed=changed, dest=dest, sha256=digest, version_label=label, size=len(data), entries=entries)


if __name__ == "__main__":
    main()
