"""The parts the logistics pages are built from, named as the floor names them.

- ``keyboard``      the intake station's keys (shortcuts, and scans typed while a question is open)
- ``scan_area``     the step, the scan field, the last result, the keys; ``reason_bar``: the reason for the next scans
- ``parcel_form``   the new-parcel form: courier, sender, declared count, cost
- ``parcel_header`` the open parcel: waybill, courier, sender, count, photos, close / leave
- ``parcel_close``  the close-parcel question and what closing found (short / over delivery)
- ``open_parcels``  the table of parcels still being received
- ``unit_row``      one received unit (tag, model, warranty, repeat, alerts, accessories) or a bad scan
- ``model_picker``  which model is a serial no pattern knows? (second scan to confirm)
- ``label_status``  what happened to a label (saved, sent, queued) and the station's print queue
- ``scanner_chip``  the station's serial scanner: connected or not, and who listens to it
- ``reason_form``   the return reason of a visit, recorded after intake (unit page)
- ``ship_form``     shipping: unit, waybill, courier, cost, from the keyboard; ``ship_row``: a unit that left

What any area can use lives in ``rma.ui``: ``fields`` (scan field, plain fields), ``banner``
(signal, result banner, alert banner), ``scan_queue`` (scans in order), ``ledger_view``.
"""
