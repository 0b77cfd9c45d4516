"""Dataset validation, merging and serialisation, one module per model kind.

``classification``: Comprehend document-classifier training CSV (``LABEL,text``); ``entities``: entity
recognizer documents and annotations. Pure functions: the S3 adapters read and write the bytes around them.
"""
