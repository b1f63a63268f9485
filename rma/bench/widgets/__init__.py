"""The bench's screens are put together from these widgets (one module each)."""
