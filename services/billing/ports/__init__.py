"""Clients of the services billing calls, each with a real and a Fake* implementation."""
