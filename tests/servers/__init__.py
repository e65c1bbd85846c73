"""Real servers on 127.0.0.1 for the storage tests: an HTTP file server, Azurite, an ARM look-alike."""
