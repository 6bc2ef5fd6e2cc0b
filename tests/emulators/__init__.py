"""Local emulators of the providers' documented HTTP APIs, served on 127.0.0.1 for tests."""
