"""Who may do what and what is kept: personal data, the audit trail, users, sessions."""
