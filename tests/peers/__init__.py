"""Local stand-ins for the outside services Warta talks to, run on 127.0.0.1 by tests."""
