"""statusgen: a Git-based multilingual status page and SLA toolkit.

One direction of flow, load -> validate -> evaluate -> render -> build -> publish, in layers; a module
imports only from its own layer or the ones below it:

    content, sla                  files -> validated model (+ the cache); SLA clocks   (localtime, progress: leaves)
    comms, render, report         communication checks; pages and outputs; monthly report
    check, build                  the pipeline: rules across packages; render + site engine + swap
    trust, service, authoring     signed history and publishing; API, notifier, sync; new/update/rca new;
    starter, doctor               `init` (a new status repository) and `doctor` (what publishing needs)
    cli                           the thin command line

See docs/architecture.md.
"""
__version__ = "0.1.0"
