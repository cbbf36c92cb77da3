"""The audit trail: an append-only record of every money and permission action."""
