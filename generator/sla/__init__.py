"""The SLA/OLA engine: business calendars, clocks and the metrics of incidents, maintenance and tickets.

Pure functions over immutable values (`now` is passed in). May import only `content` (the model).
"""
