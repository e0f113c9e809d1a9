"""The project's shared plumbing: config, logging, errors, auth, pagination, db, events."""
