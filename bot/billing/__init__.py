"""Billing questions answered from the database, as plain functions over a Session.

Every function that returns customer data takes the *verified* customer id and filters by it:
an invoice number the user typed is a filter, never a key, so a foreign invoice and a missing
one look the same. Results are frozen dataclasses (views), safe to use after the session closes.
"""
