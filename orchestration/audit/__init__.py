"""Audit: the history of published records, the published state as of any past snapshot, and the trail of
one published record from its extract row to its publication."""
