"""The search engine: the only package that imports Ray.

Commands: `python -m tune.run` starts a search.
"""
