"""One typed settings object: environment, .env, TOML, defaults, and clear validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from nrr.settings import Settings, load_settings

pytestmark = pytest.mark.usefixtures("clean_env")


def test_defaults_are_the_conservative_choices():
    s = Settings()
    assert s.data_dir == Path.cwd() / "data"  # resolved once, at settings time
    assert s.reporting_currency == "usd"
    assert s.timezone == "UTC"
    assert s.reactivation_policy == "exclude"
    assert (s.acv_smb_upper, s.acv_enterprise_lower) == (10_000, 100_000)
    assert s.window_months == [1, 3, 12]
    assert s.warehouse_path == Path.cwd() / "data" / "warehouse.duckdb"


def test_environment_variables_of_the_data_contract(monkeypatch, tmp_path):
    monkeypatch.setenv("NRR_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("NRR_REPORTING_CURRENCY", "EUR")
    monkeypatch.setenv("NRR_FX_RATES", "rates.csv")
    monkeypatch.setenv("STRIPE_API_KEY", "rk_test_secret")
    monkeypatch.setenv("SLACK_CHANNEL", "#leadership")
    monkeypatch.setenv("NRR_SEGMENT_DIMENSIONS", "plan, country")
    s = Settings()
    assert s.data_dir == tmp_path / "d"
    assert s.reporting_currency == "eur"
    assert s.fx_rates_path == Path.cwd() / "rates.csv"
    assert s.stripe_api_key.get_secret_value() == "rk_test_secret"
    assert "rk_test_secret" not in repr(s)
    assert s.slack_channel == "#leadership"
    assert s.segment_dimensions == ["plan", "country"]


def test_toml_file_and_env_precedence(monkeypatch, tmp_path):
    (tmp_path / "nrr.toml").write_text(
        'reactivation_policy = "include"\nacv_smb_upper = 12000\ntimezone = "Europe/Paris"\n'
        "window_months = [6]\n[inline_fx_rates]\neur = 1.08\n"
    )
    s = Settings()
    assert s.reactivation_policy == "include"
    assert s.acv_smb_upper == 12_000
    assert s.timezone == "Europe/Paris"
    assert s.window_months == [1, 3, 6, 12]
    assert s.inline_fx_rates == {"eur": 1.08}
    monkeypatch.setenv("NRR_REACTIVATION_POLICY", "exclude")
    assert Settings().reactivation_policy == "exclude"  # env beats the file
    assert load_settings(reactivation_policy="include").reactivation_policy == "include"


def test_config_path_from_nrr_config_and_dotenv(monkeypatch, tmp_path):
    config = tmp_path / "elsewhere.toml"
    config.write_text('reporting_currency = "gbp"\n')
    monkeypatch.setenv("NRR_CONFIG", str(config))
    (tmp_path / ".env").write_text("NRR_TIMEZONE=America/New_York\n")
    s = Settings()
    assert (s.reporting_currency, s.timezone) == ("gbp", "America/New_York")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("reporting_currency", "dollars", "3-letter ISO 4217"),
        ("timezone", "Mars/Olympus", "unknown timezone"),
        ("reactivation_policy", "sometimes", "exclude"),
        ("acv_smb_upper", 200_000, "must not exceed"),
    ],
)
def test_invalid_values_are_rejected_with_the_reason(field, value, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})


def test_configuration_reference_documents_every_setting():
    text = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()

    def env_name(name, field):
        alias = field.validation_alias
        return alias.choices[0] if alias else f"NRR_{name.upper()}"

    missing = [
        name for name, field in Settings.model_fields.items()
        if f"`{name}`" not in text or f"`{env_name(name, field)}`" not in text
    ]  # fmt: skip
    assert missing == []
