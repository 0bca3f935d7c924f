"""Config loading: every problem names the key and the file; secrets stay hidden."""
import pytest

from services.config import load_config
from services.errors import ConfigError


@pytest.fixture
def write_config(tmp_path):
    def factory(text):
        path = tmp_path / "m365dash.toml"
        path.write_text(text, encoding="utf-8")
        return path
    return factory


GOOD = """
[graph]
client_id = "app"
client_secret = "env:TEST_M365_SECRET"
partner_tenant_id = "partner"
"""


@pytest.mark.sqlite_only
def test_config_reads_secret_from_environment(write_config, monkeypatch):
    monkeypatch.setenv("TEST_M365_SECRET", "value-from-env")
    cfg = load_config(write_config(GOOD))
    assert cfg.graph.client_secret.reveal() == "value-from-env"
    assert "value-from-env" not in repr(cfg)
    assert cfg.graph.authority_host == "https://login.microsoftonline.com"
    assert cfg.graph.graph_url == "https://graph.microsoft.com/v1.0"
    assert cfg.store_url.startswith("sqlite:///")


def test_config_unset_environment_secret_names_key_and_variable(write_config, monkeypatch):
    monkeypatch.delenv("TEST_M365_SECRET", raising=False)
    path = write_config(GOOD)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "graph.client_secret" in message and "TEST_M365_SECRET" in message and str(path) in message


def test_config_missing_client_id_names_key_and_file(write_config):
    path = write_config('[graph]\nclient_secret = "x"\npartner_tenant_id = "p"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "graph.client_id" and str(path) in str(info.value)


def test_config_invalid_toml_is_reported_with_file(write_config):
    path = write_config("[graph\nclient_id = ")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "not valid TOML" in str(info.value) and str(path) in str(info.value)


def test_config_requires_tenants_or_partner(write_config):
    path = write_config('[graph]\nclient_id = "a"\nclient_secret = "b"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "partner_tenant_id" in str(info.value)


def test_config_rejects_plain_http_graph_url(write_config):
    path = write_config('[graph]\nclient_id = "a"\nclient_secret = "b"\ngraph_url = "http://x"\n'
                        '[[tenants]]\ntenant_id = "t"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "graph.graph_url"


@pytest.mark.sqlite_only
def test_config_lists_explicit_tenants_and_default_lookup(write_config, monkeypatch):
    path = write_config('[graph]\nclient_id = "a"\nclient_secret = "file:secret.txt"\n'
                        '[store]\nurl = "sqlite:///x.db"\n'
                        '[[tenants]]\ntenant_id = "t1"\n[[tenants]]\ntenant_id = "t2"\n')
    (path.parent / "secret.txt").write_text("from-file\n")
    monkeypatch.setenv("M365DASH_CONFIG", str(path))
    cfg = load_config()
    assert [t.tenant_id for t in cfg.tenants] == ["t1", "t2"]
    assert cfg.graph.client_secret.reveal() == "from-file"
    assert cfg.store_url == "sqlite:///x.db"


def test_config_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "m365dash emulator" in str(info.value)
