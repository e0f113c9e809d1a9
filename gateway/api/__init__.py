"""HTTP resources the gateway serves itself."""
