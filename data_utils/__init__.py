"""From photos on disk to labelled uint8 tensors. Knows files and pixels, nothing about Ray."""


class DataError(Exception):
    """A problem with the user's data that they can fix; the CLI prints it as one line."""
