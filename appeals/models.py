"""Appeals, review queues and their outcomes: the human side (not built yet)."""
