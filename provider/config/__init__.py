"""Settings (where to talk to) and credentials (who we are), resolved argument > stack config > environment."""
