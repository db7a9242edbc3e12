"""One typed settings object for the whole product.

Values come, highest priority first, from: explicit arguments, environment variables,
a `.env` file, a TOML file (`nrr.toml` in the working directory or the path in
`NRR_CONFIG`), then the defaults below. Secrets are `SecretStr`, so they never show up in
logs, reprs or anything written to the lake.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ReactivationPolicy = Literal["exclude", "include"]


def _alias(env_name: str, field_name: str) -> AliasChoices:
    """Accept the documented environment variable and the plain field name (TOML, kwargs)."""
    return AliasChoices(env_name, field_name)


class Settings(BaseSettings):
    """Configuration of a run: where data lives, how metrics are defined, how to reach services."""

    model_config = SettingsConfigDict(
        env_prefix="NRR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    # --- where things live ------------------------------------------------------------
    environment: Literal["local", "prod"] = "local"
    data_dir: Path = Field(Path("data"), validation_alias=_alias("NRR_DATA_DIR", "data_dir"))

    # --- metric definitions (recorded with every snapshot) -----------------------------
    reporting_currency: str = Field(
        "usd", validation_alias=_alias("NRR_REPORTING_CURRENCY", "reporting_currency")
    )
    timezone: str = Field("UTC", validation_alias=_alias("NRR_TIMEZONE", "timezone"))
    reactivation_policy: ReactivationPolicy = Field(
        "exclude", validation_alias=_alias("NRR_REACTIVATION_POLICY", "reactivation_policy")
    )
    acv_smb_upper: float = Field(
        10_000.0, gt=0, validation_alias=_alias("NRR_ACV_SMB_UPPER", "acv_smb_upper")
    )
    acv_enterprise_lower: float = Field(
        100_000.0, gt=0, validation_alias=_alias("NRR_ACV_ENTERPRISE_LOWER", "acv_enterprise_lower")
    )
    segment_dimensions: Annotated[list[str] | None, NoDecode] = Field(
        None, validation_alias=_alias("NRR_SEGMENT_DIMENSIONS", "segment_dimensions")
    )
    window_months: Annotated[list[int], NoDecode] = Field(
        [1, 3, 12], validation_alias=_alias("NRR_WINDOW_MONTHS", "window_months")
    )
    fx_rates_path: Path | None = Field(
        None, validation_alias=_alias("NRR_FX_RATES", "fx_rates_path")
    )
    inline_fx_rates: dict[str, float] = Field(
        default_factory=dict, validation_alias=_alias("NRR_INLINE_FX_RATES", "inline_fx_rates")
    )

    # --- engine resources --------------------------------------------------------------
    duckdb_memory_limit: str = Field(
        "6GB", validation_alias=_alias("NRR_DUCKDB_MEMORY_LIMIT", "duckdb_memory_limit")
    )
    duckdb_threads: int | None = Field(
        None, validation_alias=_alias("NRR_DUCKDB_THREADS", "duckdb_threads")
    )

    # --- Stripe ------------------------------------------------------------------------
    stripe_api_key: SecretStr | None = Field(
        None, validation_alias=_alias("STRIPE_API_KEY", "stripe_api_key")
    )
    stripe_api_base: str | None = Field(
        None, validation_alias=_alias("STRIPE_API_BASE", "stripe_api_base")
    )
    stripe_max_requests_per_second: float = Field(
        20.0, gt=0, validation_alias=_alias("NRR_STRIPE_MAX_RPS", "stripe_max_requests_per_second")
    )
    stripe_concurrency: int = Field(
        4, ge=1, le=32, validation_alias=_alias("NRR_STRIPE_CONCURRENCY", "stripe_concurrency")
    )
    stripe_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=_alias("NRR_STRIPE_TIMEOUT", "stripe_timeout_seconds")
    )
    stripe_max_retries: int = Field(
        6, ge=0, validation_alias=_alias("NRR_STRIPE_MAX_RETRIES", "stripe_max_retries")
    )
    # list in forked worker processes (Linux) so page work uses every core; off: threads
    stripe_worker_processes: bool = Field(
        True, validation_alias=_alias("NRR_STRIPE_PROCESSES", "stripe_worker_processes")
    )
    # customer metadata keys copied into the ledger as segment attributes (besides channel)
    stripe_metadata_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=_alias("NRR_STRIPE_METADATA_KEYS", "stripe_metadata_keys"),
    )

    # --- Slack -------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=_alias("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_channel: str | None = Field(
        None, validation_alias=_alias("SLACK_CHANNEL", "slack_channel")
    )
    slack_webhook_url: SecretStr | None = Field(
        None, validation_alias=_alias("SLACK_WEBHOOK_URL", "slack_webhook_url")
    )
    slack_api_base: str | None = Field(
        None, validation_alias=_alias("SLACK_API_BASE", "slack_api_base")
    )
    slack_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=_alias("NRR_SLACK_TIMEOUT", "slack_timeout_seconds")
    )

    # --- threshold alerts (fractions: 1.0 = 100%) ---------------------------------------
    alert_nrr_below: float | None = Field(
        1.0, validation_alias=_alias("NRR_ALERT_NRR_BELOW", "alert_nrr_below")
    )
    alert_grr_below: float | None = Field(
        0.85, validation_alias=_alias("NRR_ALERT_GRR_BELOW", "alert_grr_below")
    )
    alert_drop_points: float | None = Field(
        3.0, validation_alias=_alias("NRR_ALERT_DROP_POINTS", "alert_drop_points")
    )
    alert_segment_concerning: bool = Field(
        True, validation_alias=_alias("NRR_ALERT_SEGMENT_CONCERNING", "alert_segment_concerning")
    )
    alert_restatement_points: float | None = Field(
        0.5, validation_alias=_alias("NRR_ALERT_RESTATEMENT_POINTS", "alert_restatement_points")
    )

    @field_validator(
        "alert_nrr_below",
        "alert_grr_below",
        "alert_drop_points",
        "alert_restatement_points",
        mode="before",
    )
    @classmethod
    def _rule_off(cls, value: object) -> object:
        """`off` (or none/null/false/empty) switches a rule off from the env or TOML."""
        if isinstance(value, str) and value.strip().lower() in ("", "off", "none", "null", "false"):
            return None
        return value

    # --- data-quality gates -------------------------------------------------------------
    volume_drop_tolerance: float = Field(
        0.5,
        ge=0,
        le=1,
        validation_alias=_alias("NRR_VOLUME_DROP_TOLERANCE", "volume_drop_tolerance"),
    )
    volume_growth_tolerance: float = Field(
        3.0, ge=0, validation_alias=_alias("NRR_VOLUME_GROWTH_TOLERANCE", "volume_growth_tolerance")
    )

    # --- guard rails (docs/errors.md) ----------------------------------------------------
    # extra ledger columns accepted as segments; none: any column not a known one's typo
    ledger_segment_columns: Annotated[list[str] | None, NoDecode] = Field(
        None, validation_alias=_alias("NRR_LEDGER_SEGMENT_COLUMNS", "ledger_segment_columns")
    )
    ledger_allow_duplicate_rows: bool = Field(
        False,
        validation_alias=_alias("NRR_LEDGER_ALLOW_DUPLICATE_ROWS", "ledger_allow_duplicate_rows"),
    )
    # a publication whose customers, closing MRR or 12-month cohort falls by more than this
    # fraction (or grows by more than the growth one) against the previous version or month
    # is blocked unless confirmed (`nrr close --confirm-implausible`)
    plausibility_drop_tolerance: float = Field(
        0.5,
        ge=0,
        le=1,
        validation_alias=_alias("NRR_PLAUSIBILITY_DROP", "plausibility_drop_tolerance"),
    )
    plausibility_growth_tolerance: float = Field(
        1.0,
        ge=0,
        validation_alias=_alias("NRR_PLAUSIBILITY_GROWTH", "plausibility_growth_tolerance"),
    )
    # baselines with fewer customers than this are too small to judge a jump against
    plausibility_min_customers: int = Field(
        50,
        ge=0,
        validation_alias=_alias("NRR_PLAUSIBILITY_MIN_CUSTOMERS", "plausibility_min_customers"),
    )

    # --- orchestration -----------------------------------------------------------------
    dask_scheduler_address: str | None = Field(
        None, validation_alias=_alias("NRR_DASK_ADDRESS", "dask_scheduler_address")
    )
    backfill_max_workers: int = Field(
        2, ge=1, validation_alias=_alias("NRR_BACKFILL_MAX_WORKERS", "backfill_max_workers")
    )
    backfill_months_per_task: int = Field(
        6,
        ge=1,
        validation_alias=_alias("NRR_BACKFILL_MONTHS_PER_TASK", "backfill_months_per_task"),
    )
    close_cron: str = Field("0 6 2 * *", validation_alias=_alias("NRR_CLOSE_CRON", "close_cron"))
    close_timezone: str = Field(
        "UTC", validation_alias=_alias("NRR_CLOSE_TIMEZONE", "close_timezone")
    )
    extract_cron: str = Field(
        "0 5 * * *", validation_alias=_alias("NRR_EXTRACT_CRON", "extract_cron")
    )
    # the extract's schedule timezone; default: NRR_CLOSE_TIMEZONE
    extract_timezone: str | None = Field(
        None, validation_alias=_alias("NRR_EXTRACT_TIMEZONE", "extract_timezone")
    )
    # how long a run waits for a Prefect concurrency limit held by another run (the lake
    # of an account, a month being published) before it fails saying what it waited for
    lock_timeout_seconds: float = Field(
        6 * 3600.0, gt=0, validation_alias=_alias("NRR_LOCK_TIMEOUT", "lock_timeout_seconds")
    )
    # retries of a close's or the daily extract's Stripe extraction as a whole (the client
    # already retries each request): how many, and the pause between them
    extract_retries: int = Field(
        2, ge=0, validation_alias=_alias("NRR_EXTRACT_RETRIES", "extract_retries")
    )
    extract_retry_delay_seconds: float = Field(
        60.0,
        ge=0,
        validation_alias=_alias("NRR_EXTRACT_RETRY_DELAY", "extract_retry_delay_seconds"),
    )
    # retention: run staging directories (runs/) and validation runs (Data Docs, results)
    keep_runs: int = Field(10, ge=1, validation_alias=_alias("NRR_KEEP_RUNS", "keep_runs"))
    keep_validations: int = Field(
        10, ge=1, validation_alias=_alias("NRR_KEEP_VALIDATIONS", "keep_validations")
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        from nrr.settings_file import toml_source

        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        toml = toml_source(settings_cls)  # strict: unknown keys and syntax errors are errors
        if toml is not None:
            sources.append(toml)
        return tuple(sources)

    @field_validator("data_dir", "fx_rates_path")
    @classmethod
    def _absolute_path(cls, value: Path | None) -> Path | None:
        """Relative paths are resolved once, here, against the working directory: every
        later consumer (Great Expectations, DuckDB, a Prefect worker's subprocess) gets the
        same absolute path whatever its own working directory."""
        return None if value is None else Path(os.path.abspath(value.expanduser()))

    @field_validator("reporting_currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        code = value.strip().lower()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"reporting currency must be a 3-letter ISO 4217 code, got {value!r}")
        return code

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        """A size DuckDB understands (`6GB`, `512MiB`), checked here rather than mid-close."""
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*([KMGT]i?B|B|%)?\s*", value, re.IGNORECASE):
            raise ValueError(f"{value!r} is not a memory size; use e.g. 6GB or 512MiB")
        return value.strip()

    @field_validator("timezone", "close_timezone", "extract_timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator(
        "segment_dimensions", "stripe_metadata_keys", "ledger_segment_columns", mode="before"
    )
    @classmethod
    def _split_dimensions(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("window_months", mode="before")
    @classmethod
    def _split_windows(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("window_months")
    @classmethod
    def _windows_include_month(cls, value: list[int]) -> list[int]:
        if any(n < 1 for n in value):
            raise ValueError("window lengths must be positive numbers of months")
        return sorted(set(value) | {1, 3, 12})

    @model_validator(mode="after")
    def _bands_ordered(self) -> Settings:
        if self.acv_smb_upper > self.acv_enterprise_lower:
            raise ValueError(
                "acv_smb_upper must not exceed acv_enterprise_lower "
                f"({self.acv_smb_upper} > {self.acv_enterprise_lower})"
            )
        return self

    # --- derived paths -----------------------------------------------------------------
    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def metric_definitions(self) -> dict[str, object]:
        """The choices that change published numbers; stored with every snapshot."""
        return {
            "reporting_currency": self.reporting_currency,
            "timezone": self.timezone,
            "reactivation_policy": self.reactivation_policy,
            "acv_smb_upper": self.acv_smb_upper,
            "acv_enterprise_lower": self.acv_enterprise_lower,
            "segment_dimensions": self.segment_dimensions,
            "window_months": self.window_months,
            "constant_currency": True,
        }


def load_settings(**overrides: object) -> Settings:
    """Build settings, letting command-line flags (non-None overrides) win over everything.

    Invalid values are a SettingsError naming where each came from (file and line,
    environment variable or flag) and what it was."""
    from pydantic import ValidationError

    from nrr.settings_file import SettingsError, describe_validation_error

    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = describe_validation_error(Settings, exc, given)
        raise SettingsError(f"invalid configuration: {problems}") from None
