"""Where bytes and metadata live: blob stores and the SQL metadata store."""
