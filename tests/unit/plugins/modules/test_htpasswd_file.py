"""The users file module's diff: names only, never hashes."""

from ansible_collections.mlflowops.beanstalk.plugins.modules import htpasswd_file


def test_diff_names_added_changed_and_removed_users_without_hashes():
    before = "alice:$2b$05$aaaa\nbob:$2b$05$bbbb\ncarol:$2b$05$cccc\n"
    after = "alice:$2b$05$aaaa\nbob:$2b$05$BBBB\ndave:$2b$05$dddd\n"
    diff = htpasswd_file.describe_diff(before, after)
    assert diff["before"] == "alice\nbob\ncarol\n"
    assert diff["after"] == "alice\nbob (password changed)\ndave (added)\n"
    assert "$2b$" not in diff["before"] + diff["after"]


def test_diff_from_nothing():
    assert htpasswd_file.describe_diff(None, "alice:$2b$05$aaaa\n")["after"] == "alice (added)\n"
