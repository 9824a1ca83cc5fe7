"""Remote judges: any OpenAI-compatible endpoint through the openai SDK.

``judge``         OpenAIJudge: wires the parts below (the Judge protocol, async entry points)
``client``        ChatClient: the SDK client, its requests, errors that name the fix, cost
``structured``    the structured style (one JSON call, re-asks); ``output``: its schema, parser
``probes``        the checklist style: one yes/no probe per rubric item, P(yes) from logprobs
``capabilities``  what each server kind accepts, and detecting the kind
``runtime``       the private event loop and the per-endpoint semaphores

Nothing is imported here, so reading the capability table does not load the SDK.
"""
