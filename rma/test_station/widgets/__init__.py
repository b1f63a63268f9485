"""The test station's screen, in parts named as the floor names them.

- ``port_picker``      which fixture port is used and where it came from (rma.toml or this browser)
- ``run_header``       the unit on the fixture, the test, the plan, the progress, Abort
- ``step_list``        the plan's steps, each a live step row with its verdict
- ``operator_prompt``  a step that asks the tester: yes / no, or a scanned value
- ``checklist``        the accessories and packaging check
- ``verdict_banner``   PASS / FAIL / ERROR / ABORTED and what it means for the unit
- ``keyboard``         the page's keys, and the key caps that show them
"""
