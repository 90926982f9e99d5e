"""Label Studio round trip: quotes out as tasks, annotations back as a table.

config (settings file, labeling-config XML), tasks (quote -> task, predictions), annotations
(export parsing, normalisation, reconciliation, the annotation table) are offline and pure;
client is the network half (push/pull through label-studio-sdk).
"""
