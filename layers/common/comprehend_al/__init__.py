"""Shared layer of the Comprehend active-learning application.

Models, typed errors (the state machine's contract), configuration, observability, the Comprehend /
SSM / S3 / DynamoDB adapters, dataset validation and merge, metrics and selection logic.
"""
