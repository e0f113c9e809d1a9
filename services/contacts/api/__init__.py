"""HTTP resources of the contacts service."""
