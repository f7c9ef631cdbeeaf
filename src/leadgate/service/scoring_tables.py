"""The derived tables scoring runs write (see :mod:`leadgate.service.scoring` and
:mod:`leadgate.service.kept_state`)."""

SCORES_TABLE = "lead_scores"
PARAMETERS_TABLE = "scoring_parameters"  # an incremental run's moment and last batch (one row)
KEYS_TABLE = "rescore_keys"  # the leads an incremental run rescores
