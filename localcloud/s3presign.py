"""Presigned S3 URLs on the local cloud are checked for the bucket's region, as S3 checks them.

A SigV4 signature's credential scope names a region; S3 refuses a presigned (query-string) request
whose region is not the bucket's with 400 AuthorizationQueryParametersError, and no SDK retries it
(for a header-signed call the SDKs follow S3's redirect to the right region; those are left to moto).
A server whose S3 client has no region signs for us-east-1, so a client using the URLs it hands out
fails for every bucket elsewhere. moto checks no signature at all.
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
"""

import uuid
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AuthorizationQueryParametersError</Code>'
    "<Message>Error parsing the X-Amz-Credential parameter; the region '%s' is wrong; expecting '%s'</Message>"
    "<Region>%s</Region><RequestId>%s</RequestId></Error>"
)


def signed_region(environ):
    """The region of a presigned request's credential scope, or None for other requests."""
    credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0]
    scope = credential.split("/")
    return scope[2] if len(scope) >= 5 and scope[3] == "s3" else None


def bucket_region(environ):
    """The region of the bucket a path-style request names (the local endpoint is path-style)."""
    name = environ.get("PATH_INFO", "").lstrip("/").split("/", 1)[0]
    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets.get(name) if name else None
    return bucket.region_name if bucket is not None else None


class PresignedRegion:
    """WSGI middleware: refuses a presigned S3 request signed for another region than its bucket's."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        signed = signed_region(environ)
        expected = bucket_region(environ) if signed is not None else None
        if expected and signed != expected:  # an empty region (a client without one) too
            body = (ERROR % (escape(signed), escape(expected), escape(expected), uuid.uuid4().hex.upper()[:16])).encode()
            start_response("400 Bad Request", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)
