"""The SLA/OLA engine: business calendars, clocks and the metrics of incidents, maintenance and tickets."""
