"""Label templates (data) and their rendering to PNG, PDF and ZPL. Imports nothing from ``rma``."""
