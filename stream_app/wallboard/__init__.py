"""The live wallboard a contact-center floor puts on its TV (docs/wallboard.md)."""
