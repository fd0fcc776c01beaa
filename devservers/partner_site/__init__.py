"""A demo partner website: customers sign in, and the site's backend mints their token for the
chat widget, as a real partner's site would (tokens signed with the partner's private key)."""
