"""The library layer: settings, the one HTTP client (auth, retries, pacing under the throttle, errors, paging),
exact money, the shared field rules and the costs reader. It imports nothing of the package above it."""
