# -*- coding: utf-8 -*-
# Copyright: Contributors to the mlflowops.beanstalk collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Users file (htpasswd) logic shared by the bundle modules.

Hashes are deterministic: the salt of each entry is derived from a secret seed and
the user name, so an unchanged password always renders the same line (reruns are
byte-identical) while a changed password changes the line.  Validation messages
name the offending entry by its position and user name, never by its password.
"""

import hashlib
import re

try:
    from passlib.hash import bcrypt
    from passlib.hash import sha256_crypt
    from passlib.hash import sha512_crypt
    from passlib.utils.binary import bcrypt64
    from passlib.utils.binary import h64

    HAS_PASSLIB = True
    PASSLIB_IMPORT_ERROR = None
except Exception as exc:  # pylint: disable=broad-except
    # passlib 1.7.4 raises on import with bcrypt 5: report it, don't crash.
    HAS_PASSLIB = False
    PASSLIB_IMPORT_ERROR = exc

# Schemes the server's auth layer verifies (libpass). MD5-based schemes (apr1, md5_crypt) and
# plain SHA are refused as too weak, and so are costs below bcrypt-10 (~44 ms per check here) or
# the SHA-crypt rounds of comparable cost: the auth layer checks each credential once, so
# strength costs nothing per request.
SCHEMES = ("bcrypt", "sha512_crypt", "sha256_crypt")
DEFAULT_ROUNDS = {"bcrypt": 10, "sha512_crypt": 656000, "sha256_crypt": 535000}
ROUNDS_RANGE = {"bcrypt": (10, 31), "sha512_crypt": (535000, 999999999), "sha256_crypt": (535000, 999999999)}
BCRYPT_MAX_BYTES = 72
# The salts' seed is a generated secret: shorter ones are refused (see the module's salt_seed).
MIN_SEED_LENGTH = 32
USER_NAME_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")


def _describe(index, user):
    name = user.get("name") if isinstance(user, dict) else None
    if isinstance(name, str) and USER_NAME_RE.match(name):
        return "users[%d] (%s)" % (index, name)
    return "users[%d]" % index


def validate_users(users, scheme, min_length):
    """Check a list of {name, password} dicts.  Returns a list of error strings."""
    errors = []
    if scheme not in SCHEMES:
        errors.append("scheme %r is not supported; use one of %s" % (scheme, ", ".join(SCHEMES)))
        return errors
    if not users:
        errors.append("the users list is empty: at least one user is needed, or nobody could log in")
        return errors
    seen = {}
    for index, user in enumerate(users):
        where = _describe(index, user)
        if not isinstance(user, dict):
            errors.append("%s must be a mapping with 'name' and 'password'" % where)
            continue
        name = user.get("name")
        password = user.get("password")
        if not isinstance(name, str) or not name:
            errors.append("%s has an empty user name" % where)
        elif ":" in name:
            errors.append("%s: a user name must not contain ':'" % where)
        elif any(ch.isspace() for ch in name):
            errors.append("%s: a user name must not contain whitespace" % where)
        elif not USER_NAME_RE.match(name):
            errors.append("%s: a user name may only use letters, digits and . _ @ + - (at most 64 characters)" % where)
        elif name in seen:
            errors.append("%s: user name %r is already used by users[%d]" % (where, name, seen[name]))
        else:
            seen[name] = index
        if not isinstance(password, str) or not password:
            errors.append("%s has an empty password" % where)
            continue
        if len(password) < min_length:
            errors.append("%s: the password is shorter than %d characters" % (where, min_length))
        if "\n" in password or "\r" in password or "\0" in password:
            errors.append("%s: the password contains a line break or NUL character" % where)
        if scheme == "bcrypt" and len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
            errors.append(
                "%s: the password is longer than %d bytes, which bcrypt would silently cut" % (where, BCRYPT_MAX_BYTES)
            )
    return errors


def validate_rounds(scheme, rounds):
    low, high = ROUNDS_RANGE[scheme]
    if not low <= rounds <= high:
        return "rounds for %s must be between %d and %d, got %d" % (scheme, low, high, rounds)
    return None


def derive_salt(seed, name, scheme):
    """A salt that depends only on the seed and the user name."""
    raw = hashlib.sha256(("mlflowops-htpasswd\0%s\0%s" % (seed, name)).encode("utf-8")).digest()
    if scheme == "bcrypt":
        # 16 bytes -> 22 characters with the padding bits bcrypt expects.
        return bcrypt64.encode_bytes(raw[:16]).decode("ascii")
    # 12 bytes -> 16 characters, the longest salt the SHA-crypt schemes take.
    return h64.encode_bytes(raw[:12]).decode("ascii")


def hash_password(password, salt, scheme, rounds):
    if scheme == "bcrypt":
        handler = bcrypt.using(rounds=rounds, salt=salt, ident="2b")
    elif scheme == "sha512_crypt":
        handler = sha512_crypt.using(rounds=rounds, salt=salt)
    else:
        handler = sha256_crypt.using(rounds=rounds, salt=salt)
    return handler.hash(password)


def verify_line(line, password):
    """True when an htpasswd line's hash matches password (used by tests and checks)."""
    _name, hashed = line.split(":", 1)
    for handler in (bcrypt, sha512_crypt, sha256_crypt):
        if handler.identify(hashed):
            return handler.verify(password, hashed)
    return False


def render(users, seed, scheme, rounds):
    """The users file content: one 'name:hash' line per user, in the given order."""
    lines = []
    for user in users:
        salt = derive_salt(seed, user["name"], scheme)
        lines.append("%s:%s" % (user["name"], hash_password(user["password"], salt, scheme, rounds)))
    return "\n".join(lines) + "\n"
