"""Adapters to AWS services. ``ClientError`` is translated to the typed errors of ``errors.py`` here."""
