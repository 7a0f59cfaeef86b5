"""The wait engine: polling policy, per-job tracking, the request budget and the loop. No I/O of its own:
it calls the reader it is given and sleeps on the clock it is given."""
