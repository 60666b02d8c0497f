"""Reference implementations that the stream engine's tests compare against (no stream_app code)."""
