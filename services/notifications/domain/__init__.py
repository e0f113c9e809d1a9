"""Service functions: keyword-only, no Flask, raising domain errors."""
