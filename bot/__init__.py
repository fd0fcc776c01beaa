"""Billing help desk: the domain layer behind the Rasa assistant.

Layout:
  bot.config      every setting, read from the environment in one place
  bot.db          SQLAlchemy models, engine/session handling, Alembic migrations
  bot.billing     billing questions answered from the database (plain functions)
  bot.identity    customer tokens (JWT): issue and verify
  bot.replies     every sentence people read, per language (catalogue, Babel formats)
  bot.seed        demo data and the synthetic benchmark data set
  bot.nlp         builds the spaCy pipeline Rasa loads (billing identifiers)
"""
