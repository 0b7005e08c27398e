"""Email: raw MIME in through SMTP, IMAP or a relay; plain text out by SMTP."""
