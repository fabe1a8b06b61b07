"""Read-only audit queries over the indexed logs: who logged what, when, from which container."""
