"""What ostriage knows about OpenStack, as data plus small functions (release history, log signatures)."""
