"""The shared kernel: settings, database, money, identifiers, task queue.

Only what every domain needs lives here; anything owned by one domain lives in it.
"""
