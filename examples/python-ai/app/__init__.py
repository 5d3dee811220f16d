"""Reference for the Python AI service.

It has the runtime contract that the image and the Pulumi program rely on.
"""
