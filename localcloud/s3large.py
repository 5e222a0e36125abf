"""Large S3 objects on the local cloud, at the cost of one read or one copy of each.

moto reads a whole object for every GET, ranged or not, and slices the range from it. SDKs fetch
a large object as many ranged GETs at once (boto3: 8 MiB each, ten at a time), so a 2 GiB object
cost 256 full reads and up to ten copies of it in memory at a time: ~20 minutes and 20 GB here.
The local cloud keeps the most recently read large object's bytes (one at a time, dropped when the
object changes) and reads large objects one at a time, so a download costs one read.

moto completes a multipart upload by growing two copies of the object part by part and copying
each again, ~80 s for 2 GiB here (fresh memory is slow on this kind of machine), longer than an
SDK waits for an answer (botocore: 60 s), so the SDK sent the request again while the first was
still running, and both failed. S3 answers in seconds. The local cloud hands the parts' own
buffers to the new object, read one after the other, and checksums them as they go: nothing is
copied.

Performance fixes only: what S3 answers is unchanged.
"""

import base64
import binascii
import codecs
import tempfile
import threading

from moto.core.compat import HAS_CRT
from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE, FakeKey, FakeMultipart, MultipartChecksumBuilder
from moto.settings import get_s3_default_key_buffer_size
from moto.utilities.utils import md5_hash

LARGE = 64 * 1024 * 1024

_lock = threading.Lock()
_last = {"key": None, "value": None}


def install():
    original = FakeKey.value

    def read(key):
        if key.size is not None and key.size < LARGE:
            return original.fget(key)
        with _lock:
            if _last["key"] is not key:
                _last.update(key=None, value=None)  # never two large objects in memory at once
                _last.update(key=key, value=original.fget(key))
            return _last["value"]

    def write(key, value):
        with _lock:
            if _last["key"] is key:
                _last.update(key=None, value=None)
        if isinstance(value, Joined):  # a new key's value, from its constructor
            key._value_buffer.close()  # pylint: disable=protected-access
            key._value_buffer = value.buffer  # pylint: disable=protected-access
            key.contentsize = value.size
            return
        original.fset(key, value)

    original_complete = FakeMultipart.complete

    def complete_once(self, body):
        body = list(body)
        return complete(self, body) or original_complete(self, body)

    FakeKey.value = property(read, write)
    FakeMultipart.complete = complete_once


class Joined:
    """A completed multipart upload's bytes: its parts' buffers, taken from them, in order."""

    def __init__(self, buffers, size):
        self.buffer, self.size = Chained(buffers), size


class Chained:
    """Buffers read as one file, as FakeKey reads its value (seek, read, tell, close); a write
    (moto never writes to a completed object's value) replaces them with one spooled file."""

    def __init__(self, buffers):
        self.buffers, self.position = buffers, 0
        self.sizes = []
        for buffer in buffers:
            buffer.seek(0, 2)
            self.sizes.append(buffer.tell())

    def seek(self, offset, whence=0):
        self.position = offset if whence == 0 else (self.position + offset if whence == 1 else sum(self.sizes) + offset)
        return self.position

    def tell(self):
        return self.position

    def read(self, size=-1):
        chunks, start, wanted = [], 0, sum(self.sizes) - self.position if size is None or size < 0 else size
        for buffer, length in zip(self.buffers, self.sizes):
            if wanted <= 0:
                break
            if self.position < start + length:
                buffer.seek(self.position - start)
                chunk = buffer.read(min(wanted, start + length - self.position))
                chunks.append(chunk)
                self.position += len(chunk)
                wanted -= len(chunk)
            start += length
        return b"".join(chunks)

    def close(self):
        for buffer in self.buffers:
            buffer.close()

    def truncate(self, size=None):
        if size not in (None, 0, self.position) or self.position:
            raise OSError("a completed multipart object is only ever replaced whole")
        self.close()
        self.buffers, self.sizes = [tempfile.SpooledTemporaryFile(get_s3_default_key_buffer_size())], [0]

    def write(self, data):
        written = self.buffers[-1].write(data)
        self.sizes[-1] += written
        self.position += written
        return written


def complete(self, body):
    """FakeMultipart.complete with the same checks and answers, the parts written once into a
    file of their own; None for a full-object checksum other than CRC32 (moto's own way then)."""
    decode_hex = codecs.getdecoder("hex_codec")
    parts, md5s, last = [], bytearray(), None
    for number, etag in body:
        part = self.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if last is not None and last.contentsize < S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        md5s.extend(decode_hex(part.etag.replace('"', ""))[0])
        parts.append(part)
        last = part
    if not parts:
        raise MalformedXML
    builder = MultipartChecksumBuilder(self.metadata.get("x-amz-checksum-algorithm"), self.metadata.get("x-amz-checksum-type"))
    composite = builder.checksum_type == "COMPOSITE"
    # moto's CRC64NVME is CRC32 without the CRT library; other full-object checksums: moto's way.
    if not composite and not (builder.checksum_algorithm == "CRC32" or (builder.checksum_algorithm == "CRC64NVME" and not HAS_CRT)):
        return None
    buffers, size, crc = [], 0, 0
    for part in parts:
        value = part.value
        size += len(value)
        if composite:
            builder.addPart(value)
        else:
            crc = binascii.crc32(value, crc)
        # The part's buffer goes to the object; the part (disposed with its upload) keeps an empty one.
        buffers.append(part._value_buffer)  # pylint: disable=protected-access
        part._value_buffer = tempfile.SpooledTemporaryFile(1)  # pylint: disable=protected-access
    checksum = builder.build() if composite else (builder.checksum_type, base64.b64encode(crc.to_bytes(4, "big")).decode(), 1)
    full_etag = md5_hash()
    full_etag.update(bytes(md5s))
    return Joined(buffers, size), "%s-%d" % (full_etag.hexdigest(), len(parts)), checksum


def forget():
    """Drops the kept object (a reset of the local cloud)."""
    with _lock:
        _last.update(key=None, value=None)
