"""The billing rules: keyword-only service functions that raise shared.errors domain errors."""
