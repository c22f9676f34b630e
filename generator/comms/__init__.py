"""Customer communication: macros, the glossary, the no-raw-logs guardrail, RCA sections and the checks of
every public text (`checks`).

May import `content` and `generator.localtime`; never `render`, `trust`, `service` or the pipeline.
"""
