"""Clients of other services, each with a real and a Fake* implementation."""
