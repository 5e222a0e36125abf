"""Users file logic: validation, deterministic salts, hashes nginx can verify."""

import warnings

import pytest

from ansible_collections.mlflowops.beanstalk.plugins.module_utils import htpasswd

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # the libcrypt nginx calls; deprecated in 3.11, present until 3.13

SECRET = "correct-horse-battery-staple"


def users(*pairs):
    return [{"name": name, "password": password} for name, password in pairs]


def test_valid_users_give_no_error():
    assert htpasswd.validate_users(users(("alice", SECRET), ("bob", SECRET + "2")), "bcrypt", 12) == []


@pytest.mark.parametrize(
    "entries, expected",
    [
        ([], "the users list is empty"),
        (users(("al:ice", SECRET)), "users[0]: a user name must not contain ':'"),
        (users(("al ice", SECRET)), "users[0]: a user name must not contain whitespace"),
        (users(("alice\t", SECRET)), "users[0]: a user name must not contain whitespace"),
        (users(("", SECRET)), "users[0] has an empty user name"),
        (users(("alice", "")), "users[0] (alice) has an empty password"),
        (users(("alice", "Xq7zK")), "users[0] (alice): the password is shorter than 12 characters"),
        (users(("alice", SECRET), ("alice", SECRET + "x")), "users[1] (alice): user name 'alice' is already used by users[0]"),
        (users(("alice", "x" * 73)), "users[0] (alice): the password is longer than 72 bytes"),
        (users(("alice", "é" * 37)), "users[0] (alice): the password is longer than 72 bytes"),
        (users(("bad/name", SECRET)), "users[0]: a user name may only use letters"),
        ([{"name": "alice"}], "users[0] (alice) has an empty password"),
        (["alice"], "users[0] must be a mapping"),
    ],
)
def test_bad_users_are_named_and_passwords_never_shown(entries, expected):
    errors = htpasswd.validate_users(entries, "bcrypt", 12)
    assert any(error.startswith(expected) for error in errors), errors
    for entry in entries:
        password = entry.get("password") if isinstance(entry, dict) else None
        if password:
            assert all(password not in error for error in errors)


def test_long_passwords_are_fine_for_sha512_crypt():
    assert htpasswd.validate_users(users(("alice", "x" * 200)), "sha512_crypt", 12) == []


def test_unknown_scheme_and_rounds_are_refused():
    assert htpasswd.validate_users(users(("alice", SECRET)), "md5_crypt", 12)[0].startswith("scheme 'md5_crypt'")
    assert htpasswd.validate_rounds("bcrypt", 9) is not None
    assert htpasswd.validate_rounds("bcrypt", 10) is None
    assert htpasswd.validate_rounds("sha512_crypt", 534999) is not None


@pytest.mark.parametrize("scheme", htpasswd.SCHEMES)
def test_render_is_deterministic_and_changes_with_the_password(scheme):
    rounds = htpasswd.DEFAULT_ROUNDS[scheme]
    first = htpasswd.render(users(("alice", SECRET), ("bob", SECRET)), "app", scheme, rounds)
    again = htpasswd.render(users(("alice", SECRET), ("bob", SECRET)), "app", scheme, rounds)
    changed = htpasswd.render(users(("alice", SECRET + "!"), ("bob", SECRET)), "app", scheme, rounds)
    assert first == again
    assert first.splitlines()[0] != changed.splitlines()[0]
    assert first.splitlines()[1] == changed.splitlines()[1]
    # The same password of two users, or under another seed, hashes differently (distinct salts).
    alice, bob = first.splitlines()
    assert alice.split(":", 1)[1] != bob.split(":", 1)[1]
    assert htpasswd.render(users(("alice", SECRET)), "other-app", scheme, rounds) != first.splitlines()[0] + "\n"
    assert SECRET not in first


@pytest.mark.parametrize("scheme", htpasswd.SCHEMES)
def test_hashes_verify_with_the_system_crypt_nginx_uses(scheme):
    line = htpasswd.render(users(("alice", SECRET)), "app", scheme, htpasswd.DEFAULT_ROUNDS[scheme]).strip()
    hashed = line.split(":", 1)[1]
    assert crypt.crypt(SECRET, hashed) == hashed
    assert crypt.crypt(SECRET + "x", hashed) != hashed
    assert htpasswd.verify_line(line, SECRET)
    assert not htpasswd.verify_line(line, "wrong-password-123")


def test_bcrypt_cost_is_the_one_asked_for():
    line = htpasswd.render(users(("alice", SECRET)), "app", "bcrypt", 6)
    assert line.split(":", 1)[1].startswith("$2b$06$")
