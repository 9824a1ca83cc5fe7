"""Fakes shipped with the package, for fast tests and fault injection.

Like httpx's ``MockTransport``, they stand in for the real backends without a
model, a server or a socket, and are selected by name like any backend:

``FakeJudge``     ``GRADER_JUDGE=fake`` (word overlap), ``fake:fail``, ``fake:timeout``,
                  ``fake:slow[:seconds]``, ``fake:serial[:seconds]`` (one answer at a time,
                  like the local judge); or scripted: ``FakeJudge(script=lambda req: {...})``.
``FakeEmbedder``  ``GRADER_EMBEDDER=fake``: deterministic bag-of-words hashing vectors.

    grader = Grader(settings, embedder=FakeEmbedder(), judge=FakeJudge())
"""

from grader.testing.embedder import FakeEmbedder
from grader.testing.judge import FakeJudge

__all__ = ["FakeEmbedder", "FakeJudge"]
