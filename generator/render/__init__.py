"""Render: a validated `Repository` -> finished pages (`pages`, templates/) and machine-readable files
(`api` Statuspage v2 JSON, `feeds`, `ics`, `badges`), the status roll-up (`status`, `uptime`), and the site
engine adapter (`engine`, `mkdocs_plugin`, the shipped `theme/`): the only modules that know mkdocs.

May import `content`, `sla` and `generator.localtime`; never reads content files (the load stage did).
"""
