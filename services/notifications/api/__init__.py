"""HTTP resources of the notifications service."""
