"""The parts of a bundle's `.ebextensions` the local platform honours.

EB applies `.ebextensions/*.config` files with CloudFormation. Of those, the local cloud reads
one thing: a redirect as the default action of the HTTP listener (AWSEBV2LoadBalancerListener),
which its front door then applies on its HTTP port.
"""

import io
import zipfile

import yaml


def http_redirect_status(bundle):
    """301 or 302 when the bundle turns the HTTP listener into a redirect to HTTPS, else None."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        names = sorted(name for name in archive.namelist() if name.startswith(".ebextensions/") and name.endswith(".config"))
        for name in names:
            try:
                document = yaml.safe_load(archive.read(name)) or {}
            except yaml.YAMLError:
                continue
            listener = (document.get("Resources") or {}).get("AWSEBV2LoadBalancerListener") or {}
            for action in (listener.get("Properties") or {}).get("DefaultActions") or []:
                config = action.get("RedirectConfig") or {}
                if action.get("Type") == "redirect" and config.get("Protocol") == "HTTPS":
                    return 302 if config.get("StatusCode") == "HTTP_302" else 301
    return None
