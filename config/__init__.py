"""Settings and logging for evidence-vault (env ``EVAULT_*`` plus an optional TOML file)."""

from config.settings import FilenameConvention, Settings, StationConfig, load_settings

__all__ = ["FilenameConvention", "Settings", "StationConfig", "load_settings"]
