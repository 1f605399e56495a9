import pytest
from django.core.exceptions import ImproperlyConfigured

from ikbt.env import env_bool, env_choice, env_int, env_list, env_str


@pytest.mark.parametrize("word", ["1", "true", "True", "YES", "on"])
def test_true_words(monkeypatch, word):
    monkeypatch.setenv("FLAG", word)
    assert env_bool("FLAG", default=False) is True


@pytest.mark.parametrize("word", ["0", "false", "No", "off"])
def test_false_words(monkeypatch, word):
    monkeypatch.setenv("FLAG", word)
    assert env_bool("FLAG", default=True) is False


@pytest.mark.parametrize("word", ["ture", "yes please", "2", "falsch"])
def test_misspelt_boolean_is_an_error(monkeypatch, word):
    monkeypatch.setenv("FLAG", word)
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", default=False)


def test_missing_boolean_takes_the_default(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", default=True) is True


def test_integer_must_be_a_number(monkeypatch):
    monkeypatch.setenv("PORT", "25x")
    with pytest.raises(ImproperlyConfigured, match="PORT"):
        env_int("PORT", 25)


def test_list_is_comma_separated(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.se, b.se,,")
    assert env_list("HOSTS", []) == ["a.se", "b.se"]


def test_secret_from_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert env_str("SECRET_KEY") == "s3cret"


def test_value_and_file_together_is_an_error(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    monkeypatch.setenv("SECRET_KEY", "y")
    with pytest.raises(ImproperlyConfigured):
        env_str("SECRET_KEY")


def test_unknown_backend_word_is_an_error(monkeypatch):
    monkeypatch.setenv("SMS_BACKEND", "pigeon")
    with pytest.raises(ImproperlyConfigured, match="pigeon"):
        env_choice("SMS_BACKEND", "console", {"console": "x"})
