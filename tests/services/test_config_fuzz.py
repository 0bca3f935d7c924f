"""Property-based: any config file either loads or fails with a ConfigError naming what is wrong."""
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.config import load_config
from services.errors import ConfigError

_values = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none(),
                    st.lists(st.text(max_size=5), max_size=3))
_keys = st.sampled_from(["client_id", "client_secret", "authority_host", "graph_url", "partner_tenant_id",
                         "ca_file", "certificate", "max_connections", "max_retries", "bogus"])


def _toml_value(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(graph=st.dictionaries(_keys, _values, max_size=8), with_tenant=st.booleans(),
       garbage=st.text(alphabet=string.printable, max_size=30))
def test_config_any_file_loads_or_names_the_problem(tmp_path, graph, with_tenant, garbage):
    lines = ["[graph]"]
    for key, value in graph.items():
        rendered = _toml_value(value)
        if rendered is not None:
            lines.append(f"{key} = {rendered}")
    if with_tenant:
        lines += ["[[tenants]]", 'tenant_id = "t1"']
    path = tmp_path / "m365dash.toml"
    for text in ("\n".join(lines), "\n".join(lines) + "\n" + garbage):
        path.write_text(text, encoding="utf-8")
        try:
            cfg = load_config(path)
        except ConfigError as exc:
            message = str(exc)
            assert str(path) in message
            secret = graph.get("client_secret")
            # Another key may hold the same text, and its bad value is rightly quoted back.
            shared = any(v == secret for k, v in graph.items() if k != "client_secret")
            if isinstance(secret, str) and len(secret) > 6 and not shared:
                assert secret not in message   # a secret is never echoed back
        else:
            assert cfg.graph.client_id
            assert cfg.graph.graph_url.startswith("https://")
