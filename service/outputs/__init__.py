"""What people meet: the HTTP API, syndication (RSS/Atom/JSON Feed/OPML) and the email digest."""
