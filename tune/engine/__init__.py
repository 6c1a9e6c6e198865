"""The search engine, the only code that starts Ray: the Tuner and its searcher, the scheduler,
the trainable, the callbacks (time budget, live line), the cluster and the run context they
share. `python -m tune.run` drives it; the commands after a search never start Ray."""
