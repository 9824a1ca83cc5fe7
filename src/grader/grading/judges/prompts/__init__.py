"""Versioned prompt files. Changing a prompt means a new file and a new version name."""
