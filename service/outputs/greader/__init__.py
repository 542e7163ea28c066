"""The Google Reader API's model of a profile: ids, streams, item documents (no HTTP here)."""
