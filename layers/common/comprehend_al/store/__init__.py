"""Table access, one module per table: typed records in, typed records out.

``registry`` (model and dataset versions, locks, jobs; ``memory`` is its in-memory twin for unit tests),
``predictions`` and ``review_gate`` (the predictions table), ``label_buffer``, ``analyses``. Every
DynamoDB conversion goes through ``dynamo``. Table names come from :class:`~comprehend_al.settings.Settings`.
"""
