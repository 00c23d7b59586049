"""The pure billing model: a configuration (limits, alerts, top-up, credit grants) and the month it produces
from a day-by-day costs series. Low enough that the limit guardrails in ``resources`` replay costs through it."""
