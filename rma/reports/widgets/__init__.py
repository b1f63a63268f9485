"""The parts the dashboard is built from.

- ``links``   where a figure clicks through to (the list behind it), with the dashboard's filters
- ``charts``  the ECharts options of each chart (bars, lines, the Pareto) from plain figures
- ``tiles``   the headline numbers, each a link to its list
"""
