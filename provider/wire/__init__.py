"""The HTTP exchange: transport (deadlines, bounded answers, retries of safe requests only), signing, auth objects."""
