"""The programming pages' parts: the programmer port, a reflash on screen, the firmware table, a unit's attempts."""
