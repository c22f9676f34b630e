"""Content: files -> validated model. The only reader of the content repository's files.

Owns the file formats (`model`), YAML with line numbers (`yamlsource`), loading and validation with
`path:line: field` problems (`load`, which also reads the glossary and the macros so later stages never go
back to disk) and the published JSON Schemas (`schemas`). Imports nothing from the rest of `generator`.
"""
