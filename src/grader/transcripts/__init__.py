"""Grade a whole interview: a transcript in, one report out.

The stages, one module each, in the order they run:

* :mod:`~grader.transcripts.parse` — read a JSON, Q:/A:, speaker or Markdown transcript
  into turns (one sub-module per format);
* :mod:`~grader.transcripts.match` — match each turn to a bank question (or say why
  not) and merge follow-ups: the plan;
* :mod:`~grader.transcripts.grade` — grade the plan's answers concurrently with the
  :class:`~grader.grading.pipeline.Grader`;
* :mod:`~grader.transcripts.rollup` — roll the results up into a ``TranscriptReport``;
* :mod:`~grader.transcripts.render` — the report as Markdown or one HTML page;
* :mod:`~grader.transcripts.jobs` — the same as a background job that survives restarts
  (the API's ``/v1/transcripts``).
"""
