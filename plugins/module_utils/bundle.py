# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Deterministic source bundle archives.

The same files with the same modes always give a byte-identical zip: entries are
sorted, timestamps fixed, Unix modes explicit and compression settings pinned.
The application version label is derived from the zip's SHA-256, so an unchanged
bundle never creates a new version.
"""

import hashlib
import io
import os
import posixpath
import re
import stat
import zipfile

# The earliest time a zip entry can hold; any fixed value works.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
LABEL_MAX = 100
LABEL_HASH_CHARS = 16
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class BundleError(ValueError):
    pass


def normalise_arcname(name):
    clean = posixpath.normpath(name.replace("\\", "/"))
    if clean.startswith("/") or clean == "." or clean.split("/")[0] == "..":
        raise BundleError("bundle path %r must be relative and stay inside the bundle" % name)
    return clean


def build_zip(root, paths):
    """Zip the files at root/<path> for each path.  Returns the zip's bytes.

    Entry modes come from the files (permission bits only), so callers set them
    explicitly when they write the files; timestamps, owners and order never
    reach the archive.
    """
    names = set()
    for path in paths:
        arcname = normalise_arcname(path)
        if arcname in names:
            raise BundleError("bundle path %r is listed twice" % arcname)
        names.add(arcname)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname in sorted(names):
            local = os.path.join(root, *arcname.split("/"))
            if not os.path.isfile(local):
                raise BundleError("bundle file %r does not exist under %s" % (arcname, root))
            with open(local, "rb") as handle:
                data = handle.read()
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE_TIME)
            info.create_system = 3  # Unix, so unzip honours the mode below
            info.external_attr = (stat.S_IFREG | stat.S_IMODE(os.stat(local).st_mode)) << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def version_label(prefix, digest):
    """EB application version label: prefix + the first characters of the content hash."""
    label = "%s-%s" % (prefix, digest[:LABEL_HASH_CHARS]) if prefix else digest[:LABEL_HASH_CHARS]
    if len(label) > LABEL_MAX:
        raise BundleError("version label %r is longer than %d characters: shorten the prefix" % (label, LABEL_MAX))
    if not LABEL_RE.match(label):
        raise BundleError("version label %r may only use letters, digits, '.', '_' and '-'" % label)
    return label
