"""The basic-auth users file: hashed passwords, roles, private file mode."""
import stat

import pytest

from services.webusers import UsersFile


def test_webusers_add_and_verify_with_role(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.add("alice", "technician", "correct horse battery")
    assert users.verify("alice", "correct horse battery") == "technician"
    assert users.verify("alice", "wrong password here") is None
    assert users.verify("mallory", "correct horse battery") is None
    text = (tmp_path / "users.json").read_text()
    assert "correct horse battery" not in text and "$2b$" in text
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600


def test_webusers_rejects_bad_role_short_password_and_name(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    with pytest.raises(ValueError, match="role must be one of"):
        users.add("bob", "root", "long enough password")
    with pytest.raises(ValueError, match="at least 12"):
        users.add("bob", "viewer", "short")
    with pytest.raises(ValueError, match="user name"):
        users.add("bob smith", "viewer", "long enough password")
    assert users.roles() == {}


def test_webusers_remove(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.add("carol", "admin", "another long password")
    assert users.remove("carol") is True and users.remove("carol") is False
    assert users.verify("carol", "another long password") is None
