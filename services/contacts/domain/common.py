"""The record helpers the contacts service uses (they live in the shared library)."""

from shared.records import apply_changes, check_version, filtered, get_or_404, resolve_owner

__all__ = ["apply_changes", "check_version", "filtered", "get_or_404", "resolve_owner"]
