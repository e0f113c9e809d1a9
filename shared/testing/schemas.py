"""Validate event bodies against the JSON Schemas committed in docs/events/ (see shared.schemas)."""

from shared.schemas import errors_of, validator

__all__ = ["errors_of", "validator"]
