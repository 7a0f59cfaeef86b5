"""Rules and data every layer may use: errors, input validation, durations, text cleaning, the services table.

Nothing here does I/O or imports a third-party package.
"""
