"""Notifications service: each user's in-app inbox, fed by events, with a live stream."""
