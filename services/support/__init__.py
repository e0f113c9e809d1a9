"""Support service: cases, their workflow and SLA clock, escalations, the cases report."""
