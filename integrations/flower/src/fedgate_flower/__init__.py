"""Fedgate for Flower: SuperLink auth plugins and run ownership backed by Fedgate's REST API."""

from .client import FedgateClient, FedgateError, FedgateUnavailable
from .config import FedgateSettings, SettingsError

__all__ = ["FedgateClient", "FedgateError", "FedgateSettings", "FedgateUnavailable", "SettingsError"]
__version__ = "0.1.0"
