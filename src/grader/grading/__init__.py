"""Grading one answer, stage by stage; :class:`grader.grading.pipeline.Grader` wires them.

``pipeline``           Grader: accept -> prefilter -> judge -> scoring -> result -> cache
``index``              BankIndex: embeddings of the bank's questions, references, criteria
``embeddings``         the Embedder seam and its backends, picked by name
``prefilter``          the similarity gate: short-circuits with a reason, or passes evidence on
``judges/``            the Judge seam and its backends (local, remote, similarity)
``scoring``            probabilities -> points -> (calibrated) score -> level -> feedback
``score_calibration``  the isotonic score map (GRADER_CALIBRATION_PATH)
``results``            the one builder of GradeResult and Provenance
``result_cache``       stored results, keyed by answer and configuration

Nothing is imported here, so importing one stage never loads the others.
"""
