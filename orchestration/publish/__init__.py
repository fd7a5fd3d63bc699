"""Publish: accepted records to `published`, everything else to `quarantine`, per unit, atomically."""
