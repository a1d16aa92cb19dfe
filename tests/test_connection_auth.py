"""``nbwandb.login``: the lookup order, netrc storage, and a key that never shows."""

from __future__ import annotations

import stat
import sys
import types

import pytest

import nbwandb
from nbwandb.connection.credentials import find_credentials, key_problem
from nbwandb.errors import LoginError

KEY = "k3y" + "0123456789abcdef" * 3  # well-formed, fake


@pytest.fixture
def colab_secret(monkeypatch):
    """A stand-in for google.colab.userdata holding WANDB_API_KEY."""
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    userdata = types.ModuleType("google.colab.userdata")
    secrets = {"WANDB_API_KEY": KEY}

    class SecretNotFoundError(Exception):
        pass

    def get(name):
        if name not in secrets:
            raise SecretNotFoundError(name)
        return secrets[name]

    userdata.get = get
    colab.userdata = userdata
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)
    return secrets


def test_no_credentials_means_offline_without_prompting():
    result = nbwandb.login()
    assert not result.logged_in and result.source is None and result.mode == "offline"
    assert "offline" in str(result)


def test_explicit_key_is_checked_and_stored_in_netrc_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_BASE_URL")  # the default host (no request is made: verify=False)
    result = nbwandb.login(KEY)
    netrc = tmp_path / ".netrc"
    assert result.logged_in and result.source == "argument" and result.stored_in == str(netrc)
    assert stat.S_IMODE(netrc.stat().st_mode) == 0o600
    assert KEY in netrc.read_text()
    assert KEY not in repr(result) and KEY not in str(result)
    # netrc is now where the key comes from, and auto mode would go online.
    assert find_credentials().source == "netrc"
    assert nbwandb.resolve_mode("online").mode == "online"
    # A second login replaces the entry rather than adding another.
    nbwandb.login("x" * 40)
    text = netrc.read_text()
    assert text.count("machine api.wandb.ai") == 1 and KEY not in text


def test_lookup_order_env_then_colab_then_netrc(monkeypatch, colab_secret):
    nbwandb.login("n" * 40)  # netrc
    assert nbwandb.login().source == "colab"
    monkeypatch.setenv("WANDB_API_KEY", "e" * 40)
    assert nbwandb.login().source == "env"
    colab_secret.clear()
    monkeypatch.delenv("WANDB_API_KEY")
    assert nbwandb.login().source == "netrc"


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "empty"),
        ("qzq9x", "too short"),
        (KEY[:20] + " " + KEY[20:], "may only contain"),
        ("a" * 39 + "!", "may only contain"),
    ],
)
def test_malformed_key_is_refused_without_echoing_it(bad, why, tmp_path):
    with pytest.raises(LoginError, match=why) as info:
        nbwandb.login(bad)
    if bad.strip():
        assert bad.strip() not in str(info.value)
    assert not (tmp_path / ".netrc").exists()


def test_key_problem_accepts_wandb_formats():
    assert key_problem("a" * 40) is None
    assert key_problem("local-" + "b" * 40) is None
    assert key_problem("x.y.z") is None  # JWT-shaped
    assert key_problem(123) is not None


def test_verification_without_network_returns_within_timeout():
    import time

    start = time.monotonic()
    result = nbwandb.login(KEY, host="http://127.0.0.1:9", verify=True, timeout=2)
    assert time.monotonic() - start < 5
    assert result.verified is None and "not verified" in result.message
    assert KEY not in result.message
