"""The dashboard's sign-in users file: hashed passwords, roles, private file mode."""
import json
import stat

import pytest

from dashboard.users_file import UsersFile


def test_users_file_add_and_verify_with_role(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.add("alice", "technician", "correct horse battery")
    assert users.verify("alice", "correct horse battery") == "technician"
    assert users.verify("alice", "wrong password here") is None
    assert users.verify("mallory", "correct horse battery") is None
    text = (tmp_path / "users.json").read_text()
    assert "correct horse battery" not in text and "$2b$" in text
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600


def test_users_file_rejects_bad_role_short_password_and_name(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    with pytest.raises(ValueError, match="role must be one of"):
        users.add("bob", "root", "long enough password")
    with pytest.raises(ValueError, match="at least 12"):
        users.add("bob", "viewer", "short")
    with pytest.raises(ValueError, match="user name"):
        users.add("bob smith", "viewer", "long enough password")
    assert users.roles() == {}


def test_users_file_remove(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.add("carol", "admin", "another long password")
    assert users.remove("carol") is True and users.remove("carol") is False
    assert users.verify("carol", "another long password") is None


def test_users_file_verify_makes_one_bcrypt_check_for_a_known_or_unknown_name(tmp_path, monkeypatch):
    """A refusal costs the same whether or not the name exists: one check, no hashing."""
    import dashboard.users_file as users_file
    users = UsersFile(tmp_path / "users.json")
    users.add("alice", "technician", "correct horse battery")
    users_file.dummy_hash()                     # what the server does at start-up
    calls = []

    def counted(name):
        real = getattr(users_file.bcrypt, name)
        monkeypatch.setattr(users_file.bcrypt, name,
                            lambda *args: calls.append(name) or real(*args))
    counted("checkpw")
    counted("hashpw")
    counted("gensalt")
    for name in ("alice", "mallory", "alice", "trent"):
        calls.clear()
        assert users.verify(name, "wrong password here") is None
        assert calls == ["checkpw"], (name, calls)


def test_users_file_dummy_hash_is_made_once_at_the_cost_of_real_hashes(tmp_path):
    from dashboard.users_file import dummy_hash
    users = UsersFile(tmp_path / "users.json")
    users.add("alice", "technician", "correct horse battery")
    stored = json.loads((tmp_path / "users.json").read_text())["alice"]["hash"].encode()
    assert dummy_hash() is dummy_hash()
    assert dummy_hash()[:7] == stored[:7]        # $2b$ and the same cost: $2b$12$


def test_users_file_long_passwords_are_refused_when_added_and_checked_on_72_bytes(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    with pytest.raises(ValueError, match="at most 72 bytes"):
        users.add("long", "viewer", "x" * 73)
    users.add("longish", "viewer", "y" * 72)
    assert users.verify("longish", "y" * 72 + "ignored by bcrypt") == "viewer"
    assert users.verify("longish", "y" * 71) is None
    assert users.verify("nobody", "z" * 500) is None           # no error for any length
