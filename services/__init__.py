"""The CRM services, each deployable on its own."""
