"""Remote judges: any OpenAI-compatible endpoint through the openai SDK.

The backend is ``remote.judge.OpenAIJudge``. Nothing is imported here, so reading the
capability table does not load the SDK.
"""
