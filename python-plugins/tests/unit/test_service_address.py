"""O3ML_SERVICE and O3Client(address) take the forms the CLI takes, and refuse the rest by name."""

from __future__ import annotations

import pytest

from o3ml import Connection, InvalidArgumentError
from o3ml._service_address import parse_service_address


@pytest.mark.parametrize(
    ("given", "target", "tls"),
    [
        ("127.0.0.1:7433", "127.0.0.1:7433", "from-settings"),
        (" localhost:1 ", "localhost:1", "from-settings"),
        ("[::1]:7433", "[::1]:7433", "from-settings"),
        ("http://10.0.0.5:7433", "10.0.0.5:7433", "off"),
        ("https://o3ml.example.com", "o3ml.example.com:443", "on"),
        ("HTTPS://o3ml.example.com:8443/", "o3ml.example.com:8443", "on"),
        ("http://[::1]:80", "[::1]:80", "off"),
        ("unix:/run/o3ml.sock", "unix:/run/o3ml.sock", "from-settings"),
        ("unix:///run/o3ml.sock", "unix:/run/o3ml.sock", "from-settings"),
    ],
)
def test_accepted_forms_give_what_grpc_dials(given: str, target: str, tls: str) -> None:
    parsed = parse_service_address(given)
    assert (parsed.target, parsed.tls) == (target, tls)


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("7433", "expected host:port"),
        ("host", "expected host:port"),
        ("host:0", "not from 1 to 65535"),
        ("host:70000", "not from 1 to 65535"),
        ("grpc://host:1", "grpc:// is not a scheme"),
        ("http://host:1/path", "no path, query or credentials"),
        ("https://user:pw@host:1", "no path, query or credentials"),
        ("unix:", "unix:/path/to/socket"),
        ("unix://relative", "unix:/path/to/socket"),
    ],
)
def test_other_values_are_refused_naming_the_setting_and_the_forms(given: str, why: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_service_address(given)
    message = str(caught.value)
    assert "O3ML_SERVICE" in message and why in message and "https://host:port" in message


def test_a_connection_refuses_a_bad_address_when_made_not_at_its_first_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O3ML_SERVICE", "no-port-here")
    with pytest.raises(InvalidArgumentError, match="no-port-here"):
        Connection.resolve()


def test_plaintext_http_with_tls_files_is_refused(tmp_path: object) -> None:
    with pytest.raises(InvalidArgumentError, match="https://"):
        Connection.resolve("http://127.0.0.1:7433", tls_ca="/nonexistent/ca.pem")


def test_the_target_drops_the_scheme() -> None:
    assert Connection.resolve("http://127.0.0.1:9").target == "127.0.0.1:9"
