"""The predictive score: metrics, learners, training from the history or from a table of leads.

``metrics`` measures a probability against outcomes; ``learners`` fits LightGBM with a
logistic-regression baseline, calibration and per-lead explanations; ``tabular`` trains on a
CRM export (``train --csv``) with ``table_read`` (cells, placeholders, the target),
``table_columns`` (column kinds and encodings) and ``table_leakage`` (leakage suspects).
Learnt probabilities stay separate from rule scores and human decisions: nothing here writes one.
"""
