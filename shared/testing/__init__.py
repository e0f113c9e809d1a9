"""Test helpers and fixtures shared by every service's tests."""
