"""Serial hardware of the stations (fixtures, programmers, scanners, printers), each with a
simulator that speaks the same bytes. Imports nothing from ``rma``."""
