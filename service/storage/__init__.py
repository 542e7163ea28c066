"""Storage: the engine and sessions, every table (models), migrations and queries.

Storage never imports the parser, the fetcher or the ranker: it stores records and answers queries.
"""
