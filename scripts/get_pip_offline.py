"""Stands in for the pip bootstrap script ansible-test downloads from the internet.

ansible-test sanity creates a virtualenv per test and runs this script in it to get pip; this
machine has no internet access beyond the package registries, so pip comes from the Python's
own ensurepip instead, then is upgraded to the version asked for from the package index.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
requested = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
if requested:
    subprocess.check_call(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--cert", "/etc/ssl/certs/ca-certificates.crt", *requested]
    )
