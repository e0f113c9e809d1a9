"""Contacts service: companies, contacts, interactions (tags and attachments to come)."""
