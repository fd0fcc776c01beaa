"""Documents the assistant hands out: invoice PDFs (invoice_pdf.py) behind short-lived signed links (links.py)."""
